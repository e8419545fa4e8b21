using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using global::Crm.Functions.Core.Schema;
using global::Crm.Functions.Core.Store;
using Microsoft.Extensions.DependencyInjection;
using static Crm.Functions.Tests.Infrastructure.Wire;

namespace Crm.Functions.Tests.Storage;

/// <summary>
/// Indexes the embedded store makes for query shapes that keep scanning (Core/Schema/AutomaticIndexes.cs), over REST:
/// a class created at run time with no index, a shape repeated until it gets one, listed in /schemas, dropped through
/// /schemas, capped, never for one-offs or small tables, and not at all with the setting off. SQLite only makes them;
/// Cosmos DB indexes every path by default, so there the same load makes none and answers the same.
/// </summary>
public sealed class AutomaticIndexTests
{
    private const int Rows = 120;

    /// <summary>Small thresholds so a test table of 120 rows counts as large: a scan of 50 rows is slow, 3 repeats make an index.</summary>
    private static CrmServer Server(params (string Key, string? Value)[] extra) => new(TestSettings.Fast([
        ("Parse:AutomaticIndexes:MinScannedRows", "50"), ("Parse:AutomaticIndexes:Repeats", "3"), .. extra]));

    /// <summary>A class created at run time with fields only, and <see cref="Rows"/> records spread over two owners and four stages.</summary>
    private static async Task<(string Class, string[] Owners)> SeedAsync(ParseClient master)
    {
        var cls = Unique("Flex");
        (await master.PostAsync($"schemas/{cls}", new JsonObject
        {
            ["className"] = cls,
            ["fields"] = new JsonObject
            {
                ["title"] = new JsonObject { ["type"] = "String" }, ["stage"] = new JsonObject { ["type"] = "String" },
                ["amount"] = new JsonObject { ["type"] = "Number" }, ["owner"] = new JsonObject { ["type"] = "Pointer", ["targetClass"] = "_User" },
                ["closeDate"] = new JsonObject { ["type"] = "Date" },
            },
        })).EnsureStatus(HttpStatusCode.OK);
        string[] owners = ["ownerA", "ownerB"];
        string[] stages = ["lead", "won", "lost", "proposal"];
        for (var start = 0; start < Rows; start += 40)
        {
            var batch = Enumerable.Range(start, 40).Select(i =>
            {
                var body = new JsonObject
                {
                    ["title"] = $"deal {i}",
                    ["stage"] = stages[i % stages.Length],
                    ["owner"] = PointerTo("_User", owners[i % 2]),
                    ["closeDate"] = Date($"2026-{i % 12 + 1:00}-01T00:00:00.000Z"),
                };
                // Every seventh has no amount and every eleventh a null one: both must sort and count as before.
                // The others are distinct (37 and 1000 are coprime), so the order of those is fully determined.
                if (i % 7 != 0) body["amount"] = i % 11 == 0 ? null : (i * 37) % 1000;
                return ("POST", $"classes/{cls}", (JsonNode?)body);
            });
            var response = await master.BatchAsync(batch);
            response.EnsureStatus(HttpStatusCode.OK);
            Assert.All(response.Json!.AsArray(), r => Assert.NotNull(r!["success"]));
        }
        return (cls, owners);
    }

    private static JsonObject MyDealsInStages(string owner) => new()
    {
        ["owner"] = PointerTo("_User", owner),
        ["stage"] = new JsonObject { ["$in"] = new JsonArray("lead", "won") },
    };

    private static async Task<JsonObject> IndexesAsync(ParseClient master, string cls)
    {
        var schema = (await master.GetAsync($"schemas/{cls}")).EnsureStatus(HttpStatusCode.OK).Json!.AsObject();
        return schema["indexes"]?.AsObject() ?? [];
    }

    /// <summary>
    /// A query's rows: the sort key in answer order (rows without an amount, or with a null one, tie with each other,
    /// so their mutual order is free) and the ids.
    /// </summary>
    private static async Task<(List<double?> Amounts, List<string> Ids)> RowsAsync(ParseClient client, string cls, JsonObject where, string extra)
    {
        var results = (await client.QueryAsync(cls, where, extra)).EnsureStatus(HttpStatusCode.OK).Results;
        return (results.Select(r => r!["amount"] is JsonValue v ? v.GetValue<double>() : (double?)null).ToList(), results.Select(r => r!["objectId"]!.GetValue<string>()).ToList());
    }

    private static Task BuildsAsync(CrmServer server) => server.Services.GetRequiredService<AutomaticIndexes>().LastBuild;

    private static async Task<List<string>> RepeatAsync(ParseClient client, string cls, JsonObject where, string extra, int times)
    {
        List<string> ids = [];
        for (var i = 0; i < times; i++) ids = await client.IdsAsync(cls, where, extra);
        return ids;
    }

    [Fact]
    public async Task a_repeated_scanning_shape_gets_an_index_listed_in_the_schema_and_answers_the_same()
    {
        using var server = Server();
        using var master = server.Client().AsMaster();
        var (cls, owners) = await SeedAsync(master);

        var before = await RowsAsync(master, cls, MyDealsInStages(owners[0]), "order=-amount&limit=50");
        var countBefore = await master.CountAsync(cls, new JsonObject { ["amount"] = new JsonObject { ["$gte"] = 200, ["$lt"] = 700 } });
        await RepeatAsync(master, cls, MyDealsInStages(owners[0]), "order=-amount&limit=50", 3);
        for (var i = 0; i < 3; i++) await master.CountAsync(cls, new JsonObject { ["amount"] = new JsonObject { ["$gte"] = 100 + i, ["$lt"] = 600 } });
        await BuildsAsync(server);
        // The second build starts once the first is done: one more slow count finds the builder free.
        await master.CountAsync(cls, new JsonObject { ["amount"] = new JsonObject { ["$gte"] = 5, ["$lt"] = 600 } });
        await BuildsAsync(server);

        var indexes = await IndexesAsync(master, cls);
        if (CrmServer.UsesCosmos)
        {
            // Cosmos DB indexes every path by default: nothing scans, nothing is made.
            Assert.Null(indexes["auto_owner_amount_desc"]);
        }
        else
        {
            // Parse's shape: the index name, then the fields with their directions; the pointer by its field name.
            Assert.True(JsonNode.DeepEquals(new JsonObject { ["owner"] = 1, ["amount"] = -1 }, indexes["auto_owner_amount_desc"]), indexes.ToJsonString());
            Assert.True(JsonNode.DeepEquals(new JsonObject { ["amount"] = 1 }, indexes["auto_amount"]), indexes.ToJsonString());
            Assert.True(JsonNode.DeepEquals(new JsonObject { ["_id"] = 1 }, indexes["_id_"]));
        }

        // Served by the index now, the same rows in the same order, and the same count.
        var after = await RowsAsync(master, cls, MyDealsInStages(owners[0]), "order=-amount&limit=50");
        Assert.Equal(before.Amounts, after.Amounts);
        Assert.Equal(before.Ids.Order(StringComparer.Ordinal), after.Ids.Order(StringComparer.Ordinal));
        Assert.Equal(30, after.Ids.Count);
        Assert.Equal(countBefore, await master.CountAsync(cls, new JsonObject { ["amount"] = new JsonObject { ["$gte"] = 200, ["$lt"] = 700 } }));
    }

    [Fact]
    public async Task one_off_shapes_and_small_tables_get_no_index()
    {
        using var server = Server();
        using var master = server.Client().AsMaster();
        var (cls, owners) = await SeedAsync(master);

        // Two runs of a shape stay under the three repeats; a different shape each time never adds up.
        await RepeatAsync(master, cls, MyDealsInStages(owners[1]), "order=-amount&limit=50", 2);
        await master.IdsAsync(cls, new JsonObject { ["title"] = "deal 3" });
        await master.IdsAsync(cls, new JsonObject { ["stage"] = "won" }, "order=closeDate");
        // A class of a few rows never scans enough to count, however often it is asked.
        var small = Unique("Small");
        for (var i = 0; i < 5; i++) await master.CreateAsync(small, new JsonObject { ["stage"] = "won", ["amount"] = i });
        await RepeatAsync(master, small, new JsonObject { ["stage"] = "won" }, "order=-amount", 5);
        await BuildsAsync(server);

        Assert.DoesNotContain((await IndexesAsync(master, cls)).Select(i => i.Key), name => name.StartsWith("auto_", StringComparison.Ordinal));
        Assert.DoesNotContain((await IndexesAsync(master, small)).Select(i => i.Key), name => name.StartsWith("auto_", StringComparison.Ordinal));
    }

    [Fact]
    public async Task automatic_indexes_are_capped_per_class()
    {
        using var server = Server(("Parse:AutomaticIndexes:MaxPerClass", "2"));
        using var master = server.Client().AsMaster();
        var (cls, owners) = await SeedAsync(master);

        foreach (var (where, extra) in new[]
        {
            (MyDealsInStages(owners[0]), "order=-amount&limit=20"),
            (new JsonObject { ["stage"] = "won" }, "order=closeDate&limit=20"),
            (new JsonObject { ["title"] = "deal 9" }, "limit=20"),
        })
        {
            await RepeatAsync(master, cls, where, extra, 3);
            await BuildsAsync(server);
        }

        var automatic = (await IndexesAsync(master, cls)).Where(i => i.Key.StartsWith("auto_", StringComparison.Ordinal)).Select(i => i.Key).ToList();
        if (CrmServer.UsesCosmos) Assert.Empty(automatic);
        else Assert.Equal(["auto_owner_amount_desc", "auto_stage_closeDate"], automatic.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task an_automatic_index_is_dropped_through_the_schema_api_and_not_made_again()
    {
        using var server = Server();
        using var master = server.Client().AsMaster();
        var (cls, owners) = await SeedAsync(master);
        await RepeatAsync(master, cls, MyDealsInStages(owners[0]), "order=-amount&limit=50", 3);
        await BuildsAsync(server);
        if (CrmServer.UsesCosmos)
        {
            // Cosmos DB indexes every path by default: there is no automatic index to drop.
            Assert.Null((await IndexesAsync(master, cls))["auto_owner_amount_desc"]);
            return;
        }
        Assert.NotNull((await IndexesAsync(master, cls))["auto_owner_amount_desc"]);

        (await master.PutAsync($"schemas/{cls}", new JsonObject
        {
            ["className"] = cls,
            ["indexes"] = new JsonObject { ["auto_owner_amount_desc"] = new JsonObject { ["__op"] = "Delete" } },
        })).EnsureStatus(HttpStatusCode.OK);
        Assert.Null((await IndexesAsync(master, cls))["auto_owner_amount_desc"]);
        var store = Assert.IsType<global::Crm.Functions.Storage.Sqlite.SqliteObjectStore>(server.Services.GetRequiredService<IObjectStore>());
        Assert.DoesNotContain($"ix_{cls}__auto_owner_amount_desc", await SqliteIndexNamesAsync(store, cls));

        // The shape keeps scanning, but the one who dropped it decided: it is not made again.
        await RepeatAsync(master, cls, MyDealsInStages(owners[0]), "order=-amount&limit=50", 4);
        await BuildsAsync(server);
        Assert.Null((await IndexesAsync(master, cls))["auto_owner_amount_desc"]);
    }

    [Fact]
    public async Task no_index_is_made_when_the_setting_is_off()
    {
        using var server = Server(("Parse:AutomaticIndexes:Enabled", "false"));
        using var master = server.Client().AsMaster();
        var (cls, owners) = await SeedAsync(master);
        var first = await master.IdsAsync(cls, MyDealsInStages(owners[0]), "order=-amount&limit=50");
        Assert.Equal(first.Order(StringComparer.Ordinal), (await RepeatAsync(master, cls, MyDealsInStages(owners[0]), "order=-amount&limit=50", 6)).Order(StringComparer.Ordinal));
        await BuildsAsync(server);
        Assert.DoesNotContain((await IndexesAsync(master, cls)).Select(i => i.Key), name => name.StartsWith("auto_", StringComparison.Ordinal));
    }

    [Fact]
    public async Task a_users_own_queries_under_their_acl_make_the_index_too()
    {
        using var server = Server();
        using var master = server.Client().AsMaster();
        var cls = Unique("Mine");
        (await master.PostAsync($"schemas/{cls}", new JsonObject
        {
            ["className"] = cls,
            ["fields"] = new JsonObject { ["stage"] = new JsonObject { ["type"] = "String" }, ["amount"] = new JsonObject { ["type"] = "Number" }, ["owner"] = new JsonObject { ["type"] = "Pointer", ["targetClass"] = "_User" } },
        })).EnsureStatus(HttpStatusCode.OK);
        var (alice, aliceId, _) = await server.UserAsync("alice");
        var (bob, bobId, _) = await server.UserAsync("bob");
        using (alice) using (bob)
        {
            foreach (var (client, id) in new[] { (alice, aliceId), (bob, bobId) })
            {
                for (var start = 0; start < 60; start += 30)
                {
                    var response = await client.BatchAsync(Enumerable.Range(start, 30).Select(i => ("POST", $"classes/{cls}", (JsonNode?)new JsonObject
                    {
                        ["stage"] = i % 2 == 0 ? "won" : "lead", ["amount"] = i, ["owner"] = PointerTo("_User", id),
                        ["ACL"] = new JsonObject { [id] = new JsonObject { ["read"] = true, ["write"] = true } },
                    })));
                    Assert.All(response.EnsureStatus(HttpStatusCode.OK).Json!.AsArray(), r => Assert.NotNull(r!["success"]));
                }
            }
            var where = new JsonObject { ["owner"] = PointerTo("_User", aliceId), ["stage"] = new JsonObject { ["$in"] = new JsonArray("won") } };
            var expected = Enumerable.Range(0, 60).Where(i => i % 2 == 0).OrderDescending().Take(10).ToList();
            for (var i = 0; i < 3; i++)
                Assert.Equal(expected, (await alice.QueryAsync(cls, where, "order=-amount&limit=10")).EnsureStatus(HttpStatusCode.OK).Results.Select(r => r!["amount"]!.GetValue<int>()));
            await BuildsAsync(server);
            if (!CrmServer.UsesCosmos) Assert.NotNull((await IndexesAsync(master, cls))["auto_owner_amount_desc"]);
            // Still each user's own rows only.
            Assert.Equal(expected, (await alice.QueryAsync(cls, where, "order=-amount&limit=10")).EnsureStatus(HttpStatusCode.OK).Results.Select(r => r!["amount"]!.GetValue<int>()));
            Assert.Empty((await bob.QueryAsync(cls, where, "order=-amount&limit=10")).EnsureStatus(HttpStatusCode.OK).Results);
        }
    }

    private static async Task<List<string>> SqliteIndexNamesAsync(global::Crm.Functions.Storage.Sqlite.SqliteObjectStore store, string cls)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={store.FilePath};Mode=ReadOnly");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = $t";
        command.Parameters.AddWithValue("$t", "c_" + cls);
        var names = new List<string>();
        await using var rows = await command.ExecuteReaderAsync();
        while (await rows.ReadAsync()) names.Add(rows.GetString(0));
        return names;
    }
}
