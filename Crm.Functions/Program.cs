using Crm.Functions.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddCrmServer();

var app = builder.Build();
app.UseCrmServer();
await app.InitializeCrmServerAsync();
await app.RunAsync();

/// <summary>Entry point; public so the test suite's WebApplicationFactory can start the real app.</summary>
public partial class Program;
