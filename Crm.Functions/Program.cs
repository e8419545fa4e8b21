using Crm.Functions.Hosting;
using Microsoft.Extensions.Options;

// "seed", "schema", "user", "template": run one administrative command on the same host setup, then exit.
if (ServerCli.IsCommand(args)) return await ServerCli.RunAsync(args);

// Settings are read once, at start (in Azure they are app settings: changing one restarts the app). Reloading
// appsettings.json on change would watch the whole content root with inotify, folder by folder, which cost a cold
// start more than a second where that root is large.
var builder = WebApplication.CreateBuilder([.. args, "--hostBuilder:reloadConfigOnChange=false"]);
builder.AddCrmServer();

var app = builder.Build();
try
{
    app.UseCrmServer();
    // Listen first, then start: the Functions host gives a custom handler a bounded time to open its port, and opening
    // a Cosmos account (or fetching a first Entra token) on a cold start can take longer. Until the start-up work is
    // done, /health answers 503 "starting" with Retry-After and every other request a 503 Parse error.
    await app.StartAsync();
    await app.InitializeCrmServerAsync();
}
catch (Exception e) when (e is InvalidOperationException or OptionsValidationException)
{
    // An invalid setting, or a data file that cannot be used (damaged, foreign, locked): one clear line naming it,
    // and a failing exit code, instead of a stack trace.
    app.Logger.LogCritical("Start-up failed: {Reason}", e.Message);
    await Console.Error.WriteLineAsync("Start-up failed: " + e.Message);
    await app.StopAsync();
    return 1;
}
await app.WaitForShutdownAsync();
// As RunAsync does: disposing the host closes the store (the embedded store checkpoints its write-ahead log).
await app.DisposeAsync();
return 0;

/// <summary>Entry point; public so the test suite's WebApplicationFactory can start the real app.</summary>
public partial class Program;
