using Crm.Functions.Hosting;
using Microsoft.Extensions.Options;

// "seed", "schema", "user", "template": run one administrative command on the same host setup, then exit.
if (ServerCli.IsCommand(args)) return await ServerCli.RunAsync(args);

var builder = WebApplication.CreateBuilder(args);
builder.AddCrmServer();

var app = builder.Build();
try
{
    app.UseCrmServer();
    await app.InitializeCrmServerAsync();
}
catch (Exception e) when (e is InvalidOperationException or OptionsValidationException)
{
    // An invalid setting, or a data file that cannot be used (damaged, foreign, locked): one clear line naming it,
    // and a failing exit code, instead of a stack trace.
    app.Logger.LogCritical("Start-up failed: {Reason}", e.Message);
    await Console.Error.WriteLineAsync("Start-up failed: " + e.Message);
    return 1;
}
await app.RunAsync();
return 0;

/// <summary>Entry point; public so the test suite's WebApplicationFactory can start the real app.</summary>
public partial class Program;
