using Crm.Functions.Tests.CrmTemplate;
using Crm.Functions.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Crm.Functions.Tests.Surface;

/// <summary>
/// The official Parse JS SDK (node/sdk/surface.mjs) calling config, aggregate, distinct and transactional batches:
/// Parse.Config.get/save, query.aggregate/distinct, Parse.Object.saveAll(…, {transaction: true}).
/// </summary>
public sealed class SdkSurfaceTests(ITestOutputHelper output)
{
    [Fact]
    public async Task js_sdk_reads_and_writes_the_config_aggregates_and_saves_in_a_transaction()
    {
        var folder = Tools.NodeProject("sdk");
        using var server = new CrmServer();
        var run = await Tools.RunAsync("node", folder, ["surface.mjs"], new Dictionary<string, string>
        {
            ["PARSE_SERVER_URL"] = server.ParseUrl,
            ["PARSE_APP_ID"] = CrmServer.AppId,
            ["PARSE_MASTER_KEY"] = CrmServer.MasterKey,
            ["SURFACE_CLASS"] = Wire.Unique("Sdk"),
        });
        output.WriteLine(run.StdOut);
        if (run.StdErr.Length > 0) output.WriteLine(run.StdErr);
        Assert.True(run.ExitCode == 0, $"node surface.mjs exited with {run.ExitCode}\n--- stdout\n{run.StdOut}\n--- stderr\n{run.StdErr}");
        Assert.Contains("all checks passed", run.StdOut, StringComparison.Ordinal);
    }
}
