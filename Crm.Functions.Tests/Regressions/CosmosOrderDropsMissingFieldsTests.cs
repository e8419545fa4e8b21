using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using static Crm.Functions.Tests.Infrastructure.Wire;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// On the Cosmos DB store, a query ordered by a field left out every object lacking that field
/// (<c>GET /classes/Deal?order=expectedCloseDate</c> answered only the deals with a close date), because the engine
/// (the local API server, and Cosmos itself depending on the index) drops items without the ORDER BY property. Parse
/// (MongoDB) and the SQLite store return every matching object, those without the field sorting as null: first
/// ascending, last descending. Runs on both stores (CRM_TEST_STORE=cosmos for Cosmos).
/// </summary>
public sealed class CosmosOrderDropsMissingFieldsTests(FastServerFixture fixture) : IClassFixture<FastServerFixture>
{
    private CrmServer Server => fixture.Server;

    /// <summary>
    /// Five dated deals (titles d1…d5 in date order, amounts 50…10) and three without a close date or amount
    /// (titles m1…m3), all tagged with one batch's notes so the query sees only them.
    /// </summary>
    private static async Task<(string Tag, List<string> Dated, List<string> Missing)> SeedAsync(ParseClient master)
    {
        var tag = Unique("order");
        var dated = new List<string>();
        var missing = new List<string>();
        // Interleaved, so neither part is simply the insertion order.
        for (var i = 1; i <= 5; i++)
        {
            dated.Add(await master.CreateAsync("Deal", new JsonObject
            {
                ["title"] = $"d{i}", ["notes"] = tag, ["stage"] = i % 2 == 0 ? "won" : "lead", ["amount"] = 60 - (10 * i),
                ["expectedCloseDate"] = Date($"2026-0{i}-15T00:00:00.000Z"),
            }));
            if (i <= 3) missing.Add(await master.CreateAsync("Deal", new JsonObject { ["title"] = $"m{i}", ["notes"] = tag }));
        }
        return (tag, dated, missing);
    }

    private static JsonObject Where(string tag) => new() { ["notes"] = tag };

    [Fact]
    public async Task ordering_by_a_field_some_objects_lack_returns_them_first_ascending_and_last_descending()
    {
        using var master = Server.Client().AsMaster();
        var (tag, dated, missing) = await SeedAsync(master);

        var ascending = await master.IdsAsync("Deal", Where(tag), "order=expectedCloseDate");
        Assert.Equal(8, ascending.Count);
        Assert.Equal(missing.Order(StringComparer.Ordinal), ascending.Take(3).Order(StringComparer.Ordinal));
        Assert.Equal(dated, ascending.Skip(3));

        var descending = await master.IdsAsync("Deal", Where(tag), "order=-expectedCloseDate");
        Assert.Equal(8, descending.Count);
        Assert.Equal(Enumerable.Reverse(dated), descending.Take(5));
        Assert.Equal(missing.Order(StringComparer.Ordinal), descending.Skip(5).Order(StringComparer.Ordinal));

        // A number field the same way.
        var byAmount = await master.IdsAsync("Deal", Where(tag), "order=amount");
        Assert.Equal(missing.Order(StringComparer.Ordinal), byAmount.Take(3).Order(StringComparer.Ordinal));
        Assert.Equal(Enumerable.Reverse(dated), byAmount.Skip(3));
    }

    [Fact]
    public async Task two_order_keys_keep_objects_lacking_either_key()
    {
        using var master = Server.Client().AsMaster();
        var (tag, dated, missing) = await SeedAsync(master);

        // Without a composite index: the missing amounts sort last descending, among themselves by title.
        Assert.Equal([.. dated, .. missing], await master.IdsAsync("Deal", Where(tag), "order=-amount,title"));
        Assert.Equal([.. Enumerable.Reverse(missing), .. Enumerable.Reverse(dated)], await master.IdsAsync("Deal", Where(tag), "order=amount,-title"));

        // The pipeline ordering (a declared composite index): no stage first, then lead (d1, d3, d5), then won (d2, d4).
        var byStage = await master.IdsAsync("Deal", Where(tag), "order=stage,expectedCloseDate");
        Assert.Equal(8, byStage.Count);
        Assert.Equal(missing.Order(StringComparer.Ordinal), byStage.Take(3).Order(StringComparer.Ordinal));
        Assert.Equal([dated[0], dated[2], dated[4], dated[1], dated[3]], byStage.Skip(3));
        var byStageDescending = await master.IdsAsync("Deal", Where(tag), "order=-stage,-expectedCloseDate");
        Assert.Equal([dated[3], dated[1], dated[4], dated[2], dated[0]], byStageDescending.Take(5));
        Assert.Equal(missing.Order(StringComparer.Ordinal), byStageDescending.Skip(5).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("expectedCloseDate")]
    [InlineData("-expectedCloseDate")]
    [InlineData("-amount,title")]
    [InlineData("stage,expectedCloseDate")]
    [InlineData("-stage,-expectedCloseDate")]
    public async Task skip_and_limit_pages_cross_the_boundary_without_losing_or_repeating_objects(string order)
    {
        using var master = Server.Client().AsMaster();
        var (tag, dated, missing) = await SeedAsync(master);
        var full = await master.IdsAsync("Deal", Where(tag), "order=" + order);
        Assert.Equal(dated.Concat(missing).Order(StringComparer.Ordinal), full.Order(StringComparer.Ordinal));

        // Pages of 3 (every page boundary falls somewhere else relative to the dated/missing boundary).
        var paged = new List<string>();
        for (var skip = 0; skip < 9; skip += 3)
            paged.AddRange(await master.IdsAsync("Deal", Where(tag), $"order={order}&skip={skip}&limit=3"));
        Assert.Equal(full, paged);

        // A window straddling the boundary, and one starting exactly on it.
        var boundary = order.StartsWith('-') ? 5 : 3;
        Assert.Equal(full.Skip(boundary - 1).Take(3), await master.IdsAsync("Deal", Where(tag), $"order={order}&skip={boundary - 1}&limit=3"));
        Assert.Equal(full.Skip(boundary).Take(2), await master.IdsAsync("Deal", Where(tag), $"order={order}&skip={boundary}&limit=2"));
        Assert.Empty(await master.IdsAsync("Deal", Where(tag), $"order={order}&skip=8&limit=3"));
    }

    [Fact]
    public async Task count_with_an_order_counts_every_matching_object()
    {
        using var master = Server.Client().AsMaster();
        var (tag, _, missing) = await SeedAsync(master);
        foreach (var order in new[] { "expectedCloseDate", "-expectedCloseDate", "-amount,title" })
        {
            var response = (await master.QueryAsync("Deal", Where(tag), $"order={order}&count=1&limit=2")).EnsureStatus(HttpStatusCode.OK);
            Assert.Equal(8, response.Json!["count"]!.GetValue<long>());
            Assert.Equal(2, response.Results.Count);
        }
        var first = (await master.QueryAsync("Deal", Where(tag), "order=expectedCloseDate&count=1&limit=1")).EnsureStatus(HttpStatusCode.OK);
        Assert.Contains(first.Results[0]!["objectId"]!.GetValue<string>(), missing);
    }
}
