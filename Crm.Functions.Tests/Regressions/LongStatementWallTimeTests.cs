using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Found while closing issue 17 item 13: the request's wall time was checked between store statements only, so a
/// single expensive statement (<c>$all</c> of 10,000 values over a 10,000-element array took minutes) ran on
/// past it. SQLite's progress handler now interrupts the statement once the request is out of time: 124.
/// </summary>
public sealed class LongStatementWallTimeTests
{
    [Fact]
    public async Task a_statement_running_past_the_request_time_is_stopped_with_124()
    {
        using var server = new CrmServer(new Dictionary<string, string?> { ["Parse:Limits:RequestTimeoutMilliseconds"] = "300" });
        using var client = server.Client().AsMaster();
        var values = Enumerable.Range(0, 4_000).Select(i => (JsonNode?)$"t{i}").ToArray();
        await client.CreateAsync("Heavy", new JsonObject { ["tags"] = new JsonArray(values) });

        var where = new JsonObject { ["tags"] = new JsonObject { ["$all"] = new JsonArray(values.Select(v => v!.DeepClone()).ToArray()) } };
        var response = await client.PostAsync("classes/Heavy", new JsonObject { ["_method"] = "GET", ["where"] = where });

        response.EnsureError(124);
        Assert.Contains("RequestTimeoutMilliseconds", response.Json!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        (await client.GetAsync("health")).EnsureStatus(HttpStatusCode.OK);
    }
}
