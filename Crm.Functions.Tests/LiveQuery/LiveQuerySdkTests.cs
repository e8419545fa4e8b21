using Crm.Functions.Tests.CrmTemplate;
using Crm.Functions.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Crm.Functions.Tests.LiveQuery;

/// <summary>
/// The official Parse JS SDK's live queries (npm <c>parse</c>, pinned in node/livequery/package.json) against the real
/// server, unchanged: query.subscribe() with the URL derived from serverURL and LiveQueryClient per user. The script
/// prints one line per check.
/// </summary>
public sealed class LiveQuerySdkTests(ITestOutputHelper output)
{
    [Fact]
    public async Task js_sdk_live_queries_get_the_events_each_user_may_see()
    {
        var folder = Tools.NodeProject("livequery");
        using var server = new CrmServer(TestSettings.Fast());

        var run = await Tools.RunAsync("node", folder, ["livequery.mjs"], new Dictionary<string, string>
        {
            ["PARSE_SERVER_URL"] = server.ParseUrl,
            ["PARSE_APP_ID"] = CrmServer.AppId,
            ["PARSE_MASTER_KEY"] = CrmServer.MasterKey,
        });

        output.WriteLine(run.StdOut);
        if (run.StdErr.Length > 0) output.WriteLine(run.StdErr);
        Assert.True(run.ExitCode == 0, $"node livequery.mjs exited with {run.ExitCode}\n--- stdout\n{run.StdOut}\n--- stderr\n{run.StdErr}");
        Assert.Contains("all checks passed", run.StdOut, StringComparison.Ordinal);
    }
}
