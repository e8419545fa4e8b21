using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.GraphQL;

/// <summary>Relation fields: written with add/remove, read as connections with the find arguments.</summary>
public sealed class GraphQLRelationTests
{
    [Fact]
    public async Task relation_fields_are_added_to_removed_from_and_read_as_connections()
    {
        using var server = new CrmServer();
        await CrmClasses.CreateAsync(server);
        using (var schemas = server.Client().AsMaster())
            (await schemas.PutAsync("schemas/Deal", new JsonObject
            {
                ["className"] = "Deal", ["fields"] = new JsonObject { ["watchers"] = new JsonObject { ["type"] = "Relation", ["targetClass"] = "_User" } },
            })).EnsureStatus(HttpStatusCode.OK);
        using var rest = server.Client();
        var (bobId, _) = await rest.SignUpAsync(Wire.Unique("bob"));
        var (aliceId, token) = await rest.SignUpAsync(Wire.Unique("alice"));
        using var client = new GraphQLClient(server).WithSession(token);

        var dealId = (await client.SendAsync("""
            mutation($a: ID!, $b: ID!) { createDeal(input: {fields: {title: "watched", watchers: {add: [$a, $b]}}}) { deal { id watchers { count } } } }
            """, new JsonObject { ["a"] = aliceId, ["b"] = bobId })).Ok()["createDeal"]!["deal"]!;
        // Users here are readable only by themselves: Alice sees herself among the watchers, the master key sees both.
        Assert.Equal(1, dealId["watchers"]!["count"]!.GetValue<int>());
        using var master = new GraphQLClient(server).AsMaster();
        Assert.Equal(2, (await master.SendAsync("query($d: ID!) { deal(id: $d) { watchers { count } } }", new JsonObject { ["d"] = dealId["id"]!.GetValue<string>() }))
            .Ok()["deal"]!["watchers"]!["count"]!.GetValue<int>());

        var updated = (await master.SendAsync("""
            mutation($d: ID!, $b: ID!) { updateDeal(input: {id: $d, fields: {watchers: {remove: [$b]}}}) {
              deal { watchers(order: [username_ASC]) { count edges { node { objectId } } } } } }
            """, new JsonObject { ["d"] = dealId["id"]!.GetValue<string>(), ["b"] = bobId })).Ok()["updateDeal"]!["deal"]!["watchers"]!;
        Assert.Equal(1, updated["count"]!.GetValue<int>());
        Assert.Equal(aliceId, updated["edges"]![0]!["node"]!["objectId"]!.GetValue<string>());

        (await client.SendAsync("""mutation($d: ID!) { updateDeal(input: {id: $d, fields: {watchers: {}}}) { deal { id } } }""",
            new JsonObject { ["d"] = dealId["id"]!.GetValue<string>() })).ParseError(106);
    }
}
