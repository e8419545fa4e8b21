using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Store;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using static Crm.Functions.Tests.Realtime.RealtimeFixtures;

namespace Crm.Functions.Tests.Realtime;

/// <summary>
/// The in-memory matcher must agree with the store on every where clause and every read restriction:
/// each case runs once as a store query and once through QueryMatcher over the same stored objects.
/// </summary>
public sealed class QueryMatcherParityTests
{
    [Fact]
    public async Task the_matcher_selects_exactly_what_the_store_selects_for_filters_and_read_restrictions()
    {
        using var server = new CrmServer();
        using var master = server.Client().AsMaster();
        var (_, aId, _) = await server.UserAsync("alice");
        var (_, bId, _) = await server.UserAsync("bob");
        var rows = new JsonObject[]
        {
            new() { ["title"] = "a", ["stage"] = "lead", ["amount"] = 10, ["won"] = false, ["tags"] = new JsonArray("x", "y"), ["owner"] = Wire.PointerTo("_User", aId),
                    ["due"] = new JsonObject { ["__type"] = "Date", ["iso"] = "2026-01-01T00:00:00.000Z" }, ["meta"] = new JsonObject { ["level"] = 2 }, ["ACL"] = Acl((aId, true)) },
            new() { ["title"] = "Beta", ["stage"] = "proposal", ["amount"] = 20.5, ["won"] = true, ["tags"] = new JsonArray("y"), ["owner"] = Wire.PointerTo("_User", bId),
                    ["due"] = new JsonObject { ["__type"] = "Date", ["iso"] = "2026-06-01T00:00:00.000Z" }, ["ACL"] = Acl(("role:Sales", false)) },
            new() { ["title"] = "gamma", ["stage"] = "won", ["tags"] = new JsonArray(), ["meta"] = new JsonObject { ["level"] = "2" } },
            new() { ["title"] = "5", ["amount"] = 5, ["stage"] = null, ["ACL"] = new JsonObject() },
        };
        foreach (var row in rows) (await master.PostAsync("classes/Item", row)).EnsureStatus(HttpStatusCode.Created);

        var services = server.Services;
        var schema = services.GetRequiredService<DataService>().Schemas.Get("Item")!;
        var store = services.GetRequiredService<IObjectStore>();
        var parser = new WhereParser(services.GetRequiredService<IOptions<ParseSettings>>().Value.Limits);
        var all = await store.FindAsync(new StoreQuery("Item", QueryNode.True, [], 0, 100), CancellationToken.None);
        Assert.Equal(rows.Length, all.Count);

        var wheres = new[]
        {
            """{"stage":"lead"}""", """{"stage":{"$ne":"lead"}}""", """{"stage":null}""", """{"stage":{"$exists":false}}""", """{"stage":{"$exists":true}}""",
            """{"amount":{"$gt":5}}""", """{"amount":{"$lte":10}}""", """{"amount":{"$in":[5,20.5]}}""", """{"amount":{"$nin":[5]}}""", """{"title":5}""",
            """{"title":{"$in":["a","5"]}}""", """{"title":{"$regex":"^B"}}""", """{"title":{"$regex":"a$","$options":"i"}}""", """{"title":{"$gte":"a"}}""",
            """{"won":true}""", """{"won":{"$ne":true}}""", """{"tags":"y"}""", """{"tags":{"$all":["x","y"]}}""", """{"tags":{"$containedBy":["y"]}}""",
            """{"tags":{"$in":["x"]}}""", $$$"""{"owner":{"__type":"Pointer","className":"_User","objectId":"{{{aId}}}"}}""",
            """{"due":{"$lt":{"__type":"Date","iso":"2026-03-01T00:00:00.000Z"}}}""", """{"meta.level":2}""", """{"meta.level":"2"}""",
            """{"$or":[{"stage":"won"},{"amount":{"$lt":6}}]}""", """{"$nor":[{"stage":"lead"}]}""", """{"$and":[{"amount":{"$exists":true}},{"won":{"$exists":false}}]}""",
            """{"createdAt":{"$gt":{"__type":"Date","iso":"2000-01-01T00:00:00.000Z"}}}""", $$$"""{"objectId":{"$in":["{{{all[0].ObjectId}}}"]}}""",
        };
        foreach (var where in wheres)
        {
            var node = parser.Parse(JsonNode.Parse(where), schema, new MasterScope());
            await AssertSameAsync(store, node, all, where);
        }

        var auths = new[]
        {
            Auth.Anonymous,
            new Auth { UserId = aId },
            new Auth { UserId = bId, Roles = new HashSet<string> { "Sales" } },
            new Auth { UserId = "nobody" },
        };
        foreach (var auth in auths)
            await AssertSameAsync(store, AccessPolicy.ReadRestriction(auth, schema, AccessPolicy.Find), all, $"read restriction of {auth.UserId ?? "anonymous"}");
    }

    private static async Task AssertSameAsync(IObjectStore store, QueryNode node, IReadOnlyList<StoredObject> all, string because)
    {
        var fromStore = (await store.FindAsync(new StoreQuery("Item", node, [], 0, 100), CancellationToken.None)).Select(o => o.ObjectId).Order(StringComparer.Ordinal).ToList();
        var inMemory = all.Where(o => QueryMatcher.Matches(node, o)).Select(o => o.ObjectId).Order(StringComparer.Ordinal).ToList();
        Assert.True(fromStore.SequenceEqual(inMemory), $"{because}: store [{string.Join(", ", fromStore)}] but matcher [{string.Join(", ", inMemory)}]");
    }

    private sealed class MasterScope : IQueryScope
    {
        public bool IsMaster => true;
        public Core.Schema.ClassSchema? Schema(string className) => null;
        public QueryNode SubqueryRestriction(Core.Schema.ClassSchema schema) => QueryNode.True;
        public void EnsureQueryable(Core.Schema.ClassSchema schema, string field) { }
    }
}
