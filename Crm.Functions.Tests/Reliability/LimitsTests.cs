using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Reliability;

/// <summary>Every Parse:Limits setting, set small, answers with its documented status and Parse error code.</summary>
public sealed class LimitsTests : IDisposable
{
    private readonly CrmServer _server = new(TestSettings.Fast(
        ("Parse:Limits:MaxBodyBytes", "4096"), ("Parse:Limits:MaxRequestHeadersBytes", "4096"), ("Parse:Limits:MaxUrlBytes", "1024"),
        ("Parse:Limits:DefaultLimit", "3"), ("Parse:Limits:MaxLimit", "5"), ("Parse:Limits:MaxSkip", "10"), ("Parse:Limits:MaxIncludeDepth", "2"),
        ("Parse:Limits:MaxBatchSize", "3"), ("Parse:Limits:MaxInValues", "4"), ("Parse:Limits:MaxOrBranches", "2"), ("Parse:Limits:MaxQueryDepth", "3"),
        ("Parse:Limits:RegexTimeoutMilliseconds", "20")));

    public void Dispose() => _server.Dispose();

    [Fact]
    public async Task each_limit_is_enforced_with_its_documented_error()
    {
        using var client = _server.Client().AsMaster();
        for (var i = 0; i < 7; i++) await client.CreateAsync("Limited", new JsonObject { ["n"] = i, ["s"] = new string('a', 30) + "!" });

        var body = await client.PostAsync("classes/Limited", new JsonObject { ["s"] = new string('b', 5000) });
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, body.Status);
        Assert.Equal(116, body.Code);
        Assert.Contains("MaxBodyBytes", body.Json!["error"]!.GetValue<string>(), StringComparison.Ordinal);

        var headers = await client.SendAsync(HttpMethod.Get, "classes/Limited", headers: new Dictionary<string, string> { ["X-Junk"] = new string('h', 5000) });
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, headers.Status);
        Assert.Equal(116, headers.Code);
        Assert.Contains("MaxRequestHeadersBytes", headers.Json!["error"]!.GetValue<string>(), StringComparison.Ordinal);

        var url = await client.GetAsync("classes/Limited?where=" + Uri.EscapeDataString($$"""{"s":"{{new string('u', 1100)}}"}"""));
        Assert.Equal(HttpStatusCode.RequestUriTooLong, url.Status);
        Assert.Equal(116, url.Code);
        Assert.Contains("MaxUrlBytes", url.Json!["error"]!.GetValue<string>(), StringComparison.Ordinal);

        Assert.Equal(3, (await client.QueryAsync("Limited")).Results.Count);
        Assert.Equal(5, (await client.QueryAsync("Limited", extra: "limit=100")).Results.Count);
        (await client.QueryAsync("Limited", extra: "limit=-1")).EnsureError(102);
        (await client.QueryAsync("Limited", extra: "limit=abc")).EnsureError(102);
        (await client.QueryAsync("Limited", extra: "skip=11")).EnsureError(102);
        (await client.QueryAsync("Limited", extra: "include=a.b.c")).EnsureError(102);
        (await client.BatchAsync(Enumerable.Repeat(("GET", "classes/Limited", (JsonNode?)null), 4))).EnsureError(107);
        (await client.QueryAsync("Limited", new JsonObject { ["n"] = new JsonObject { ["$in"] = new JsonArray(1, 2, 3, 4, 5) } })).EnsureError(102);
        (await client.QueryAsync("Limited", new JsonObject { ["$or"] = new JsonArray(new JsonObject { ["n"] = 1 }, new JsonObject { ["n"] = 2 }, new JsonObject { ["n"] = 3 }) })).EnsureError(102);
        JsonNode nested = new JsonObject { ["n"] = 1 };
        for (var i = 0; i < 6; i++) nested = new JsonObject { ["$and"] = new JsonArray(nested) };
        (await client.QueryAsync("Limited", nested)).EnsureError(102);
        // Needs backtracking (a look-ahead over a nested quantifier): runs into the time budget on these rows. The
        // budget is the app's (SQLite store, real-time matching); Cosmos DB evaluates $regex itself.
        if (CrmServer.StoreKind == "sqlite")
            (await client.QueryAsync("Limited", new JsonObject { ["s"] = new JsonObject { ["$regex"] = "^(?=(a+)+$)" } })).EnsureError(124);
        var deep = string.Concat(Enumerable.Repeat("{\"a\":", 100)) + "1" + new string('}', 100);
        (await client.SendTextAsync(HttpMethod.Post, "classes/Limited", deep)).EnsureError(107);
    }
}
