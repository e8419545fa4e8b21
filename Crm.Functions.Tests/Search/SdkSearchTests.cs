using Crm.Functions.Tests.CrmTemplate;
using Crm.Functions.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Crm.Functions.Tests.Search;

/// <summary>The Parse JS SDK's <c>query.fullText</c> (with <c>$score</c> order and keys) against the real server (node/sdk/search.mjs).</summary>
public sealed class SdkSearchTests(ITestOutputHelper output)
{
    [Fact]
    public async Task js_sdk_full_text_search_finds_ranks_and_counts()
    {
        var folder = Tools.NodeProject("sdk");
        using var server = new CrmServer();

        var run = await Tools.RunAsync("node", folder, ["search.mjs"], new Dictionary<string, string>
        {
            ["PARSE_SERVER_URL"] = server.ParseUrl,
            ["PARSE_APP_ID"] = CrmServer.AppId,
            ["PARSE_MASTER_KEY"] = CrmServer.MasterKey,
            ["SEARCH_CLASS"] = Wire.Unique("Search"),
        });

        output.WriteLine(run.StdOut);
        if (run.StdErr.Length > 0) output.WriteLine(run.StdErr);
        Assert.True(run.ExitCode == 0, $"node search.mjs exited with {run.ExitCode}\n--- stdout\n{run.StdOut}\n--- stderr\n{run.StdErr}");
        Assert.Contains("all checks passed", run.StdOut, StringComparison.Ordinal);
    }
}
