using System.Text.Json.Nodes;
using global::Crm.Functions.Core.Query;
using global::Crm.Functions.Core.Schema;
using global::Crm.Functions.Core.Store;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Found while adding automatic indexes: SQLite plans an EXPLAIN on the connection's cached schema and, opening no
/// transaction, never checks that it is current — the SQLite store's EXPLAIN on a pooled reader that had run nothing since
/// an index was made showed the plan from before it. The store now reads the schema table first, which reloads a changed schema.
/// </summary>
public sealed class StaleExplainPlanTests : ScratchSqliteStore
{
    [Fact]
    public async Task the_plan_after_an_index_is_made_uses_it()
    {
        var schema = ClassSchema.Create("Deal", new Dictionary<string, FieldDefinition> { ["stage"] = new(FieldType.String) });
        await Store.SaveSchemaAsync(schema, CancellationToken.None);
        await Store.InsertAsync(new StoredObject
        {
            ClassName = "Deal", ObjectId = "d1", OwnerId = "u1", CreatedAt = "2026-01-01T00:00:00.000Z", UpdatedAt = "2026-01-01T00:00:00.000Z",
            Data = new JsonObject { ["stage"] = "won" },
        }, [], CancellationToken.None);
        var query = new StoreQuery("Deal", new CompareNode(WhereParser.ResolveField("stage", schema), CompareOp.Eq, new StringValue("won")), [], 0, 10);

        Assert.Contains("SCAN", await Store.ExplainAsync(query, CancellationToken.None), StringComparison.Ordinal);
        await Store.SaveSchemaAsync(schema with { Indexes = schema.Indexes.SetItem("stage", new IndexDefinition([("stage", 1)])) }, CancellationToken.None);
        var plan = await Store.ExplainAsync(query, CancellationToken.None);

        Assert.Contains("USING INDEX ix_Deal__stage", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("SCAN", plan, StringComparison.Ordinal);
    }
}
