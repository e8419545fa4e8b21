using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Issue 17 item 2: a <c>/batch</c> of 50 finds with a catastrophic <c>$regex</c> burned 12.7 s of CPU, each
/// sub-request with a fresh per-statement budget. The batch now spends one request budget.
/// </summary>
public sealed class BatchRegexAmplificationTests
{
    [Fact]
    public async Task the_finds_of_one_batch_share_one_regex_budget()
    {
        using var server = new CrmServer(TestSettings.Fast(
            ("Parse:Limits:RegexTimeoutMilliseconds", "5000"), ("Parse:Limits:RegexMillisecondsPerRequest", "1")));
        using var master = server.Client().AsMaster();
        for (var i = 0; i < 3; i++) await master.CreateAsync("Slow", new JsonObject { ["title"] = new string('a', 14) + "!" });
        using var client = server.Client();
        await client.SignUpAsync(Wire.Unique("batch"));
        var where = Uri.EscapeDataString("""{"title":{"$regex":"^(?=(a+)+$)"}}""");

        var batch = await client.BatchAsync(Enumerable.Repeat(("GET", $"classes/Slow?where={where}", (JsonNode?)null), 8));

        batch.EnsureStatus(HttpStatusCode.OK);
        var codes = batch.Json!.AsArray().Select(r => r!["error"]?["code"]?.GetValue<int>()).ToList();
        Assert.Contains(124, codes);
        (await client.GetAsync("health")).EnsureStatus(HttpStatusCode.OK);
    }
}
