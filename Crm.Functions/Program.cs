using Crm.Functions.Crm;
using Crm.Functions.Hosting;

// "seed", "schema", "user", "template": run one administrative command on the same host setup, then exit.
if (CrmCli.IsCommand(args)) return await CrmCli.RunAsync(args);

var builder = WebApplication.CreateBuilder(args);
builder.AddCrmServer();

var app = builder.Build();
app.UseCrmServer();
await app.InitializeCrmServerAsync();
await app.RunAsync();
return 0;

/// <summary>Entry point; public so the test suite's WebApplicationFactory can start the real app.</summary>
public partial class Program;
