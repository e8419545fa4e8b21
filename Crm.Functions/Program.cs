using Crm.Functions.Crm;
using Crm.Functions.Hosting;

// "seed", "schema", "user", "template": run one administrative command on the same host setup, then exit.
if (CrmCli.IsCommand(args)) return await CrmCli.RunAsync(args);

var builder = WebApplication.CreateBuilder(args);
builder.AddCrmServer();

var app = builder.Build();
app.UseCrmServer();
try
{
    await app.InitializeCrmServerAsync();
}
catch (InvalidOperationException e)
{
    // A data file that cannot be used (damaged, foreign, locked): one clear line naming it, and a failing exit code.
    app.Logger.LogCritical("Start-up failed: {Reason}", e.Message);
    await Console.Error.WriteLineAsync("Start-up failed: " + e.Message);
    return 1;
}
await app.RunAsync();
return 0;

/// <summary>Entry point; public so the test suite's WebApplicationFactory can start the real app.</summary>
public partial class Program;
