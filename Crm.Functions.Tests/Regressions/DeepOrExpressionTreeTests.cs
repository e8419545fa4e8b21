using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Issue 17 item 13: <c>$or</c> nested 15 deep answered 500 "Expression tree is too large": SQLite parses
/// <c>a OR b OR c …</c> one level deeper per term and refuses trees deeper than 1,000. Long AND/OR lists are now
/// joined as balanced halves, so every where the parser admits is a statement SQLite accepts.
/// </summary>
public sealed class DeepOrExpressionTreeTests
{
    private static JsonObject Find(JsonObject where) => new() { ["_method"] = "GET", ["where"] = where };

    [Fact]
    public async Task an_or_nested_fifteen_deep_with_wide_branches_is_answered()
    {
        using var server = new CrmServer();
        using var client = server.Client().AsMaster();
        var id = await client.CreateAsync("Nested", new JsonObject { ["n"] = 0 });
        await client.CreateAsync("Nested", new JsonObject { ["n"] = -1 });

        JsonObject where = new() { ["n"] = 0 };
        for (var level = 0; level < 15; level++)
        {
            var branches = new JsonArray(where);
            for (var i = 1; i < 100; i++) branches.Add(new JsonObject { ["n"] = level * 1000 + i });
            where = new JsonObject { ["$or"] = branches };
        }
        var response = await client.PostAsync("classes/Nested", Find(where));

        response.EnsureStatus(HttpStatusCode.OK);
        Assert.Equal(id, Assert.Single(response.Results)!["objectId"]!.GetValue<string>());
    }

    [Fact]
    public async Task an_all_of_more_than_a_thousand_values_is_answered()
    {
        using var server = new CrmServer();
        using var client = server.Client().AsMaster();
        var values = Enumerable.Range(0, 1_200).Select(i => (JsonNode?)$"t{i}").ToArray();
        var id = await client.CreateAsync("Nested", new JsonObject { ["tags"] = new JsonArray(values) });
        await client.CreateAsync("Nested", new JsonObject { ["tags"] = new JsonArray("t1") });

        var where = new JsonObject { ["tags"] = new JsonObject { ["$all"] = new JsonArray(values.Select(v => v!.DeepClone()).ToArray()) } };
        var response = await client.PostAsync("classes/Nested", Find(where));

        response.EnsureStatus(HttpStatusCode.OK);
        Assert.Equal(id, Assert.Single(response.Results)!["objectId"]!.GetValue<string>());
    }
}
