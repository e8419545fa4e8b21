using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using Crm.Functions.Tests.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Crm.Functions.Tests.CrmTemplate;

/// <summary>Helpers for the CRM and docs tests: a server with the template on, users, processes (the CLI, node).</summary>
internal static class Tools
{
    public static readonly TimeSpan ProcessTimeout = TimeSpan.FromMinutes(3);

    public static CrmServer TemplateServer(string? dataFolder = null, IDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>(StringComparer.Ordinal) { ["Crm:ApplyTemplate"] = "true" };
        if (dataFolder is not null) settings["Parse:DataFolder"] = dataFolder;
        foreach (var (k, v) in extra ?? new Dictionary<string, string?>()) settings[k] = v;
        return new CrmServer(settings);
    }

    public static string NewFolder()
    {
        var folder = Path.Combine(Path.GetTempPath(), "crm-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        return folder;
    }

    public static void DeleteFolder(string folder)
    {
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    public static async Task<string> CreateAsync(ParseClient client, string className, JsonObject body)
    {
        var response = await client.PostAsync($"classes/{className}", body);
        response.EnsureStatus(HttpStatusCode.Created);
        return response.Json!["objectId"]!.GetValue<string>();
    }

    public static async Task AddToRoleAsync(CrmServer server, string role, string userId)
    {
        using var master = server.Client().AsMaster();
        var found = await master.QueryAsync("_Role", new JsonObject { ["name"] = role });
        var roleId = found.Results[0]!["objectId"]!.GetValue<string>();
        (await master.PutAsync($"roles/{roleId}", new JsonObject
        {
            ["users"] = Wire.AddRelation("_User", userId),
        })).EnsureStatus(HttpStatusCode.OK);
    }

    /// <summary>Crm.Functions.Tests/node/{name}, found from the repository root; fails (never skips) when not installed.</summary>
    public static string NodeProject(string name)
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Crm.Functions.sln"))) root = root.Parent;
        Assert.True(root is not null, $"No Crm.Functions.sln above {AppContext.BaseDirectory}.");
        var folder = Path.Combine(root.FullName, "Crm.Functions.Tests", "node", name);
        Assert.True(Directory.Exists(Path.Combine(folder, "node_modules")),
            $"{folder}/node_modules is missing: run ./scripts/test.sh from the repository root (it installs the npm packages, then runs the tests).");
        return folder;
    }

    public sealed record Run(int ExitCode, string StdOut, string StdErr)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{StdOut}\n--- stderr\n{StdErr}";
    }

    public static Task<Run> NodeAsync(string project, params string[] args) => RunAsync("node", NodeProject(project), args, new Dictionary<string, string>());

    /// <summary>
    /// The app's own CLI on a data folder: on SQLite as a separate process (<c>dotnet Crm.Functions.dll COMMAND</c>).
    /// On Cosmos it runs in this process, through the entry point the process's Main calls, with the same
    /// arguments and settings: reaching the local API server needs the test-only client hooks (trust in the
    /// certificate generated for this run, the query-plan answer the local server lacks), which cannot cross a
    /// process boundary, and the app deliberately has no setting that turns certificate checks off.
    /// </summary>
    public static async Task<Run> CliAsync(string dataFolder, params string[] args)
    {
        if (CrmServer.UsesCosmos) return await InProcessCliAsync(dataFolder, args);
        var dll = Path.Combine(AppContext.BaseDirectory, "Crm.Functions.dll");
        return await RunAsync("dotnet", dataFolder, [dll, .. args], new Dictionary<string, string>
        {
            ["DOTNET_ENVIRONMENT"] = "Development",
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["Parse__DataFolder"] = dataFolder,
            ["Parse__MasterKey"] = CrmServer.MasterKey,
            ["Parse__AppId"] = CrmServer.AppId,
        });
    }

    private static Task<Run> InProcessCliAsync(string dataFolder, string[] args) =>
        InProcessCliAsync(new Dictionary<string, string?>(CrmServer.StoreSettings(dataFolder), StringComparer.Ordinal) { ["Parse:DataFolder"] = dataFolder }, args);

    /// <summary>
    /// The command line in this process, with these settings (store, data folder) and the test app's keys: a Cosmos
    /// store needs the test server's client hooks, which cannot travel to a separate process.
    /// </summary>
    public static async Task<Run> InProcessCliAsync(IReadOnlyDictionary<string, string?> store, string[] args)
    {
        var settings = new Dictionary<string, string?>(store, StringComparer.Ordinal)
        {
            ["Parse:MasterKey"] = CrmServer.MasterKey,
            ["Parse:AppId"] = CrmServer.AppId,
        };
        // The command's own "--Section:Key=value" arguments win over these, as arguments win over the environment in the process.
        string[] all = [.. args, .. settings.Where(s => !args.Any(a => a.StartsWith($"--{s.Key}=", StringComparison.Ordinal))).Select(s => $"--{s.Key}={s.Value}")];
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exitCode = await global::Crm.Functions.Hosting.ServerCli.RunAsync(all, stdout, stderr, builder =>
        {
            builder.Environment.EnvironmentName = "Development";
            if (settings.GetValueOrDefault("Parse:Store") == "cosmos") builder.Services.AddSingleton(CosmosTestServer.Instance.Hooks);
        }).WaitAsync(ProcessTimeout);
        return new Run(exitCode, stdout.ToString(), stderr.ToString());
    }

    public static async Task<Run> RunAsync(string fileName, string workingDirectory, IEnumerable<string> args, IDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var (key, value) in environment) start.Environment[key] = value;
        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            Assert.Fail($"Cannot start {fileName} ({e.Message}).");
        }
        // Both pipes are read concurrently: a full pipe would block the child.
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(ProcessTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"{fileName} {string.Join(' ', args)} did not finish within {ProcessTimeout}.\n{await stdout}\n{await stderr}");
        }
        return new Run(process.ExitCode, await stdout, await stderr);
    }
}
