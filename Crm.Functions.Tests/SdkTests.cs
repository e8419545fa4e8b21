using System.ComponentModel;
using System.Diagnostics;
using Crm.Functions.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Crm.Functions.Tests;

/// <summary>
/// The official Parse JS SDK (npm <c>parse</c>, pinned in node/sdk/package.json) against the real server:
/// the protocol is only right if unchanged SDK code works. The script prints one line per check.
/// </summary>
public sealed class SdkTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task js_sdk_creates_queries_updates_and_deletes_deals()
    {
        var folder = NodeProject("sdk");
        using var server = new CrmServer();

        var run = await RunNodeAsync(folder, "deals.mjs", new Dictionary<string, string>
        {
            ["PARSE_SERVER_URL"] = server.ParseUrl,
            ["PARSE_APP_ID"] = CrmServer.AppId,
            ["PARSE_MASTER_KEY"] = CrmServer.MasterKey,
        });

        // The per-check lines show up in the test log even when everything passes.
        output.WriteLine(run.StdOut);
        if (run.StdErr.Length > 0) output.WriteLine(run.StdErr);
        Assert.True(run.ExitCode == 0, $"node deals.mjs exited with {run.ExitCode}\n--- stdout\n{run.StdOut}\n--- stderr\n{run.StdErr}");
        Assert.Contains("all checks passed", run.StdOut, StringComparison.Ordinal);
    }

    /// <summary>Crm.Functions.Tests/node/{name}, found from the repository root; fails (never skips) when not installed.</summary>
    private static string NodeProject(string name)
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Crm.Functions.sln"))) root = root.Parent;
        Assert.True(root is not null, $"No Crm.Functions.sln above {AppContext.BaseDirectory}.");
        var folder = Path.Combine(root.FullName, "Crm.Functions.Tests", "node", name);
        Assert.True(File.Exists(Path.Combine(folder, "package.json")), $"Missing {folder}/package.json.");
        Assert.True(Directory.Exists(Path.Combine(folder, "node_modules")),
            $"{folder}/node_modules is missing: run ./scripts/test.sh from the repository root (it installs the npm packages, then runs the tests).");
        return folder;
    }

    private sealed record NodeRun(int ExitCode, string StdOut, string StdErr);

    private static async Task<NodeRun> RunNodeAsync(string folder, string script, IDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(script);
        foreach (var (key, value) in environment) start.Environment[key] = value;

        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            Assert.Fail($"Cannot start node ({e.Message}); Node.js must be on PATH.");
        }
        // Read both pipes concurrently: a full pipe would otherwise block the script.
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"node {script} did not finish within {Timeout}.\n--- stdout\n{await stdout}\n--- stderr\n{await stderr}");
        }
        return new NodeRun(process.ExitCode, await stdout, await stderr);
    }
}
