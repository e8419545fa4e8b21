using System.Text.Json.Nodes;
using global::Crm.Functions.Core.Query;
using global::Crm.Functions.Core.Schema;
using global::Crm.Functions.Core.Store;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Found profiling the floor ratio (bench/README.md): the SQLite store keeps each connection's prepared statements, yet
/// every get by id was parsed and planned again — a sixth of the server's CPU in the GET scenario. Since SQLite 3.47 a
/// bound LIMIT value may steer the plan, so binding that parameter (even to the same value) marks the statement for
/// recompiling on its next step. LIMIT is now a literal (and OFFSET is bound only past the first page).
/// </summary>
public sealed class KeptStatementsRecompiledTests : ScratchSqliteStore
{
    [Fact]
    public async Task repeated_gets_and_pages_reuse_their_compiled_statements()
    {
        var schema = ClassSchema.Create("Deal", new Dictionary<string, FieldDefinition> { ["stage"] = new(FieldType.String) });
        await Store.SaveSchemaAsync(schema, CancellationToken.None);
        for (var i = 0; i < 5; i++)
            await Store.InsertAsync(new StoredObject
            {
                ClassName = "Deal", ObjectId = "d" + i, OwnerId = "u1", CreatedAt = "2026-01-01T00:00:00.000Z", UpdatedAt = "2026-01-01T00:00:00.000Z",
                Acl = new JsonObject { ["u1"] = new JsonObject { ["read"] = true, ["write"] = true } },
                Data = new JsonObject { ["stage"] = i % 2 == 0 ? "won" : "lost" },
            }, [], CancellationToken.None);
        var readable = new AclNode(["*", "u1"], Write: false);

        // The shapes of a get by id (limit 1) and of a first page of a query, each run with changing values.
        for (var round = 0; round < 3; round++)
            for (var i = 0; i < 5; i++)
            {
                var byId = new CompareNode(FieldRef.Of("objectId"), CompareOp.Eq, new StringValue("d" + i));
                var got = await Store.FindAsync(new StoreQuery("Deal", QueryNode.And(byId, readable), [], 0, 1), CancellationToken.None);
                Assert.Equal("d" + i, Assert.Single(got).ObjectId);
                var stage = new CompareNode(WhereParser.ResolveField("stage", schema), CompareOp.Eq, new StringValue(i % 2 == 0 ? "won" : "lost"));
                var page = await Store.FindAsync(new StoreQuery("Deal", QueryNode.And(stage, readable), [], 0, 100), CancellationToken.None);
                Assert.Equal(i % 2 == 0 ? 3 : 2, page.Count);
            }

        Assert.Equal(0, Store.RecompiledStatements());
    }

    [Fact]
    public async Task later_pages_still_skip_their_offset()
    {
        var schema = ClassSchema.Create("Deal", new Dictionary<string, FieldDefinition> { ["stage"] = new(FieldType.String) });
        await Store.SaveSchemaAsync(schema, CancellationToken.None);
        for (var i = 0; i < 5; i++)
            await Store.InsertAsync(new StoredObject
            {
                ClassName = "Deal", ObjectId = "d" + i, OwnerId = "u1", CreatedAt = "2026-01-01T00:00:00.000Z", UpdatedAt = "2026-01-01T00:00:00.000Z",
                Data = new JsonObject { ["stage"] = "won" },
            }, [], CancellationToken.None);
        var order = new List<SortKey> { new(FieldRef.Of("objectId"), false) };

        var first = await Store.FindAsync(new StoreQuery("Deal", QueryNode.True, order, 0, 2), CancellationToken.None);
        var second = await Store.FindAsync(new StoreQuery("Deal", QueryNode.True, order, 2, 2), CancellationToken.None);
        var last = await Store.FindAsync(new StoreQuery("Deal", QueryNode.True, order, 4, 2), CancellationToken.None);

        Assert.Equal(["d0", "d1"], first.Select(o => o.ObjectId));
        Assert.Equal(["d2", "d3"], second.Select(o => o.ObjectId));
        Assert.Equal(["d4"], last.Select(o => o.ObjectId));
    }
}
