using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Issue 17 items 2 and 13: <c>$and</c> of 100 × <c>$all</c> of 10,000 values answered 500 "too many SQL
/// variables", and <c>$or</c> of 100 × <c>$in</c> of 10,000 values cost 2 s a statement: each list was bounded,
/// their sum was not. The values of one where are now bounded in all (Parse:Limits:MaxQueryValues), with a 102.
/// </summary>
public sealed class TooManySqlVariablesTests
{
    private static JsonArray Values(int count, int offset) => new(Enumerable.Range(offset, count).Select(i => (JsonNode?)$"v{i}").ToArray());

    private static JsonObject Find(JsonObject where) => new() { ["_method"] = "GET", ["where"] = where };

    [Fact]
    public async Task an_and_of_long_all_lists_is_a_parse_error_not_a_fault()
    {
        using var server = new CrmServer();
        using var client = server.Client().AsMaster();
        await client.CreateAsync("Tagged", new JsonObject { ["tags"] = new JsonArray("v1", "v2") });

        var and = new JsonArray(Enumerable.Range(0, 4).Select(i => (JsonNode?)new JsonObject { ["tags"] = new JsonObject { ["$all"] = Values(10_000, i * 10_000) } }).ToArray());
        var response = await client.PostAsync("classes/Tagged", Find(new JsonObject { ["$and"] = and }));

        response.EnsureError(102);
        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains("MaxQueryValues", response.Json!["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task an_or_of_long_in_lists_is_bounded_in_all()
    {
        using var server = new CrmServer(new Dictionary<string, string?> { ["Parse:Limits:MaxQueryValues"] = "1000" });
        using var client = server.Client().AsMaster();
        await client.CreateAsync("Tagged", new JsonObject { ["name"] = "v1" });

        var or = new JsonArray(Enumerable.Range(0, 3).Select(i => (JsonNode?)new JsonObject { ["name"] = new JsonObject { ["$in"] = Values(500, i * 500) } }).ToArray());
        (await client.PostAsync("classes/Tagged", Find(new JsonObject { ["$or"] = or }))).EnsureError(102);

        var two = new JsonArray(Enumerable.Range(0, 2).Select(i => (JsonNode?)new JsonObject { ["name"] = new JsonObject { ["$in"] = Values(500, i * 500) } }).ToArray());
        var found = await client.PostAsync("classes/Tagged", Find(new JsonObject { ["$or"] = two }));
        found.EnsureStatus(HttpStatusCode.OK);
        Assert.Single(found.Results);
    }
}
