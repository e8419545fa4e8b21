using Crm.Functions.Tests.CrmTemplate;
using Crm.Functions.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Crm.Functions.Tests;

/// <summary>
/// The official Parse JS SDK (npm <c>parse</c>, pinned in node/sdk/package.json) against the real server:
/// the protocol is only right if unchanged SDK code works. The script prints one line per check.
/// </summary>
public sealed class SdkTests(ITestOutputHelper output)
{
    [Fact]
    public async Task js_sdk_creates_queries_updates_and_deletes_deals()
    {
        var folder = Tools.NodeProject("sdk");
        using var server = new CrmServer();

        var run = await Tools.RunAsync("node", folder, ["deals.mjs"], new Dictionary<string, string>
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
}
