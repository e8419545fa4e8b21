using Crm.Functions.Tests.CrmTemplate;
using Crm.Functions.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Crm.Functions.Tests.Surface;

/// <summary>
/// The official Parse JS SDK (node/sdk/transactions.mjs) saving and destroying in transactions
/// (<c>Parse.Object.saveAll/destroyAll(…, {transaction: true})</c>) and retrying with <c>Parse.idempotency</c>.
/// </summary>
public sealed class SdkTransactionTests(ITestOutputHelper output)
{
    [Fact]
    public async Task js_sdk_saves_and_destroys_in_transactions_and_gets_159_for_a_repeated_request_id()
    {
        using var server = new CrmServer(new Dictionary<string, string?> { ["Parse:Idempotency:Enabled"] = "true" });
        var run = await Tools.RunAsync("node", Tools.NodeProject("sdk"), ["transactions.mjs"], new Dictionary<string, string>
        {
            ["PARSE_SERVER_URL"] = server.ParseUrl,
            ["PARSE_APP_ID"] = CrmServer.AppId,
            ["PARSE_MASTER_KEY"] = CrmServer.MasterKey,
            ["TX_CLASS"] = Wire.Unique("SdkTx"),
            // See CommitFactAttribute: the local Cosmos DB API server cannot commit a .NET SDK transactional batch.
            ["TX_COMMITS"] = CrmServer.UsesCosmos ? "0" : "1",
            ["TX_IDEMPOTENCY"] = "1",
        });
        output.WriteLine(run.StdOut);
        if (run.StdErr.Length > 0) output.WriteLine(run.StdErr);
        Assert.True(run.ExitCode == 0, $"node transactions.mjs exited with {run.ExitCode}\n--- stdout\n{run.StdOut}\n--- stderr\n{run.StdErr}");
        Assert.Contains("all checks passed", run.StdOut, StringComparison.Ordinal);
        Assert.Contains("ok - idempotency: a write repeated with the same request id is refused with 159 and not applied", run.StdOut, StringComparison.Ordinal);
    }
}
