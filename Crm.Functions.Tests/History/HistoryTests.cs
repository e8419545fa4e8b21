using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using Crm.Functions.Tests.Mcp;

namespace Crm.Functions.Tests.History;

/// <summary>
/// The record history through the real server, on the store under test: what a create, update and delete record (who,
/// when, which door, old and new values), who may read it (ACL, roles, CLP, protected fields, deleted objects), paging
/// and refusals, concurrent edits, and that the history class stays out of every client door.
/// </summary>
public sealed class HistoryTests(HistoryTests.HistoryFixture fixture) : IClassFixture<HistoryTests.HistoryFixture>
{
    /// <summary>A server recording Doc, Guarded and _User (each test makes its own objects and users).</summary>
    public sealed class HistoryFixture : IAsyncLifetime
    {
        // A generous request time: the local Cosmos DB API server on a busy machine is slow, and these tests are about
        // what is recorded, not how fast (bench/ measures that).
        public CrmServer Server { get; } = new(TestSettings.Fast(HistoryRetentionTests.SlowStore,
            ("Parse:History:Classes:0", "Doc"), ("Parse:History:Classes:1", "Guarded"), ("Parse:History:Classes:2", "_User")));

        public async Task InitializeAsync()
        {
            using var master = Server.Client().AsMaster();
            var open = new JsonObject { ["*"] = true };
            var openClp = new JsonObject
            {
                ["get"] = open.DeepClone(), ["find"] = open.DeepClone(), ["count"] = open.DeepClone(), ["create"] = open.DeepClone(),
                ["update"] = open.DeepClone(), ["delete"] = open.DeepClone(), ["addField"] = open.DeepClone(),
            };
            (await master.PostAsync("schemas/Doc", new JsonObject
            {
                ["className"] = "Doc",
                ["fields"] = new JsonObject
                {
                    ["title"] = new JsonObject { ["type"] = "String" }, ["amount"] = new JsonObject { ["type"] = "Number" },
                    ["tag"] = new JsonObject { ["type"] = "String" }, ["due"] = new JsonObject { ["type"] = "Date" },
                    ["owner"] = new JsonObject { ["type"] = "Pointer", ["targetClass"] = "_User" },
                },
                ["classLevelPermissions"] = openClp.DeepClone(),
            })).EnsureStatus(HttpStatusCode.OK);
            // pin is protected from everyone (never recorded); phone from all but Sales (recorded, shown to Sales only).
            var guardedClp = openClp.DeepClone().AsObject();
            guardedClp["protectedFields"] = new JsonObject { ["*"] = new JsonArray("phone", "pin"), ["role:Sales"] = new JsonArray("pin") };
            (await master.PostAsync("schemas/Guarded", new JsonObject
            {
                ["className"] = "Guarded",
                ["fields"] = new JsonObject
                {
                    ["name"] = new JsonObject { ["type"] = "String" }, ["phone"] = new JsonObject { ["type"] = "String" },
                    ["pin"] = new JsonObject { ["type"] = "String" },
                },
                ["classLevelPermissions"] = guardedClp,
            })).EnsureStatus(HttpStatusCode.OK);
        }

        public Task DisposeAsync()
        {
            Server.Dispose();
            return Task.CompletedTask;
        }
    }

    private CrmServer Server => fixture.Server;

    internal static async Task<JsonArray> HistoryAsync(ParseClient client, string className, string objectId, string query = "") =>
        (await client.GetAsync($"classes/{className}/{objectId}/history{query}")).EnsureStatus(HttpStatusCode.OK).Results;

    private static Dictionary<string, (JsonNode? Old, JsonNode? New)> Changes(JsonNode entry) =>
        entry["changes"]!.AsArray().ToDictionary(c => c!["field"]!.GetValue<string>(), c => (c!["old"], c["new"]));

    private static long[] Sequences(JsonArray entries) => [.. entries.Select(e => e!["sequence"]!.GetValue<long>())];

    private static JsonObject Acl(params (string Key, bool Read, bool Write)[] entries) => Wire.Acl(entries);

    [Fact]
    public async Task create_update_and_delete_record_who_when_the_door_and_each_fields_old_and_new_value()
    {
        var (alice, aliceId, _) = await Server.UserAsync("alice");
        var before = DateTimeOffset.UtcNow.AddSeconds(-5);
        var id = await alice.CreateAsync("Doc", new JsonObject
        {
            ["title"] = "Draft", ["amount"] = 1, ["tag"] = "x", ["due"] = Wire.Date("2026-03-01T00:00:00.000Z"),
            ["owner"] = Wire.PointerTo("_User", aliceId), ["ACL"] = Acl((aliceId, true, true)),
        });
        (await alice.PutAsync($"classes/Doc/{id}", new JsonObject
        {
            ["title"] = "Final", ["amount"] = new JsonObject { ["__op"] = "Increment", ["amount"] = 2 }, ["tag"] = new JsonObject { ["__op"] = "Delete" },
        })).EnsureStatus(HttpStatusCode.OK);

        var entries = await HistoryAsync(alice, "Doc", id);
        Assert.Equal([2L, 1L], Sequences(entries));
        var update = entries[0]!;
        Assert.Equal("update", update["event"]!.GetValue<string>());
        Assert.Equal(3, update.AsObject().Count(p => p.Key is "user" or "master" or "door"));
        Assert.Equal(JsonNode.Parse($$"""{"__type":"Pointer","className":"_User","objectId":"{{aliceId}}"}"""), update["user"], JsonNode.DeepEquals);
        Assert.False(update["master"]!.GetValue<bool>());
        Assert.Equal("rest", update["door"]!.GetValue<string>());
        Assert.Equal("Date", update["at"]!["__type"]!.GetValue<string>());
        var at = DateTimeOffset.Parse(update["at"]!["iso"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(at, before, DateTimeOffset.UtcNow.AddSeconds(5));
        Assert.Equal(16, update["id"]!.GetValue<string>().Length);
        var changed = Changes(update);
        Assert.Equal(["amount", "tag", "title"], changed.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(("Draft", "Final"), (changed["title"].Old!.GetValue<string>(), changed["title"].New!.GetValue<string>()));
        Assert.Equal((1.0, 3.0), (changed["amount"].Old!.GetValue<double>(), changed["amount"].New!.GetValue<double>()));
        Assert.Equal("x", changed["tag"].Old!.GetValue<string>());
        Assert.Null(changed["tag"].New);

        var create = entries[1]!;
        Assert.Equal("create", create["event"]!.GetValue<string>());
        var set = Changes(create);
        Assert.Equal(["ACL", "amount", "due", "owner", "tag", "title"], set.Keys.Order(StringComparer.Ordinal));
        Assert.All(set.Values, c => Assert.Null(c.Old));
        // Values in Parse's JSON encoding.
        Assert.Equal(Wire.Date("2026-03-01T00:00:00.000Z"), set["due"].New, JsonNode.DeepEquals);
        Assert.Equal(Wire.PointerTo("_User", aliceId), set["owner"].New, JsonNode.DeepEquals);

        (await alice.DeleteAsync($"classes/Doc/{id}")).EnsureStatus(HttpStatusCode.OK);
        using var master = Server.Client().AsMaster();
        entries = await HistoryAsync(master, "Doc", id);
        Assert.Equal([3L, 2L, 1L], Sequences(entries));
        Assert.Equal("delete", entries[0]!["event"]!.GetValue<string>());
        Assert.Empty(entries[0]!["changes"]!.AsArray());
        Assert.Equal(aliceId, entries[0]!["user"]!["objectId"]!.GetValue<string>());
        // The master key's own changes name no user.
        var byMaster = await master.CreateAsync("Doc", new JsonObject { ["title"] = "m" });
        var first = (await HistoryAsync(master, "Doc", byMaster)).Single()!;
        Assert.Null(first["user"]);
        Assert.True(first["master"]!.GetValue<bool>());
    }

    [Fact]
    public async Task each_entry_names_the_door_of_its_change_rest_batch_graphql_and_mcp()
    {
        var (alice, _, token) = await Server.UserAsync("doors");
        var id = await alice.CreateAsync("Doc", new JsonObject { ["title"] = "rest" });
        var batch = (await alice.BatchAsync([("PUT", $"classes/Doc/{id}", new JsonObject { ["title"] = "batch" })])).EnsureStatus(HttpStatusCode.OK);
        Assert.NotNull(batch.Json![0]!["success"]);
        using (var graphql = new GraphQLClient(Server).WithSession(token))
            (await graphql.SendAsync("mutation($id: ID!) { updateDoc(input: {id: $id, fields: {title: \"graphql\"}}) { doc { title } } }",
                new { id })).Ok();
        await using (var mcp = await McpTests.ConnectAsync(Server, token))
            await McpTests.CallAsync(mcp, "update", new JsonObject { ["className"] = "Doc", ["objectId"] = id, ["fields"] = new JsonObject { ["title"] = "mcp" } });

        var entries = await HistoryAsync(alice, "Doc", id);
        Assert.Equal(["mcp", "graphql", "batch", "rest"], entries.Select(e => e!["door"]!.GetValue<string>()));
        Assert.Equal(["mcp", "graphql", "batch", "rest"], entries.Select(e => Changes(e!)["title"].New!.GetValue<string>()));
        Assert.Equal([4L, 3L, 2L, 1L], Sequences(entries));
    }

    [Fact]
    public async Task concurrent_updates_of_one_object_get_one_entry_each_with_sequences_without_gaps()
    {
        var (alice, _, token) = await Server.UserAsync("race");
        var id = await alice.CreateAsync("Doc", new JsonObject { ["amount"] = 0 });
        const int writers = 24;
        var answers = await Task.WhenAll(Enumerable.Range(0, writers).Select(async i =>
        {
            using var client = Server.Client().WithSession(token);
            return await client.PutAsync($"classes/Doc/{id}", new JsonObject { ["amount"] = new JsonObject { ["__op"] = "Increment", ["amount"] = 1 }, ["tag"] = "w" + i });
        }));
        var acknowledged = answers.Count(a => a.Status == HttpStatusCode.OK);
        Assert.All(answers.Where(a => a.Status != HttpStatusCode.OK), a => Assert.True((int)a.Status is >= 400 and < 500, a.Raw));
        Assert.True(acknowledged > 0);

        var entries = await HistoryAsync(alice, "Doc", id, "?limit=1000");
        Assert.Equal(acknowledged + 1, entries.Count);
        Assert.Equal(Enumerable.Range(1, acknowledged + 1).Reverse().Select(n => (long)n), Sequences(entries));
        Assert.Equal(entries.Count, entries.Select(e => e!["id"]!.GetValue<string>()).Distinct().Count());
        // In sequence order each increment starts where the previous one ended: the entries are the committed chain.
        var chain = entries.Reverse().Skip(1).Select(e => Changes(e!)["amount"]).ToList();
        for (var i = 0; i < chain.Count; i++)
        {
            Assert.Equal(i, chain[i].Old!.GetValue<double>());
            Assert.Equal(i + 1, chain[i].New!.GetValue<double>());
        }
        var stored = (await alice.GetAsync($"classes/Doc/{id}")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Equal(acknowledged, stored["amount"]!.GetValue<double>());
    }

    [Fact]
    public async Task only_who_may_read_the_object_reads_its_history_by_acl_and_roles_and_others_get_101_as_for_an_unknown_object()
    {
        var (alice, aliceId, _) = await Server.UserAsync("owner");
        var (bob, _, _) = await Server.UserAsync("outsider");
        var (carol, carolId, _) = await Server.UserAsync("member");
        var role = Wire.Unique("Team");
        await Server.CreateRoleAsync(role, carolId);
        var id = await alice.CreateAsync("Doc", new JsonObject { ["title"] = "t", ["ACL"] = Acl((aliceId, true, true), ("role:" + role, true, false)) });
        (await alice.PutAsync($"classes/Doc/{id}", new JsonObject { ["title"] = "u" })).EnsureStatus(HttpStatusCode.OK);

        Assert.Equal(2, (await HistoryAsync(alice, "Doc", id)).Count);
        Assert.Equal(2, (await HistoryAsync(carol, "Doc", id)).Count);
        var refused = (await bob.GetAsync($"classes/Doc/{id}/history")).EnsureError(101);
        var unknown = (await bob.GetAsync("classes/Doc/nosuchobj1/history")).EnsureError(101);
        Assert.Equal(unknown.Raw, refused.Raw);
        // The same answer as a GET of the object.
        Assert.Equal((await bob.GetAsync($"classes/Doc/{id}")).Raw, refused.Raw);
        using var anonymous = Server.Client();
        (await anonymous.GetAsync($"classes/Doc/{id}/history")).EnsureError(101);

        // Losing read access loses the history too.
        (await alice.PutAsync($"classes/Doc/{id}", new JsonObject { ["ACL"] = Acl((aliceId, true, true)) })).EnsureStatus(HttpStatusCode.OK);
        (await carol.GetAsync($"classes/Doc/{id}/history")).EnsureError(101);
        var aclChange = Changes((await HistoryAsync(alice, "Doc", id))[0]!)["ACL"];
        Assert.NotNull(aclChange.Old!["role:" + role]);
        Assert.Null(aclChange.New!["role:" + role]);
    }

    [Fact]
    public async Task protected_fields_are_hidden_per_caller_and_fields_protected_from_everyone_and_passwords_are_never_recorded()
    {
        var (alice, _, _) = await Server.UserAsync("guard");
        var (sales, salesId, _) = await Server.UserAsync("sales");
        await Server.CreateRoleAsync("Sales", salesId);
        var id = await alice.CreateAsync("Guarded", new JsonObject { ["name"] = "n1", ["phone"] = "555", ["pin"] = "1234" });
        (await alice.PutAsync($"classes/Guarded/{id}", new JsonObject { ["name"] = "n2", ["phone"] = "556", ["pin"] = "9999" })).EnsureStatus(HttpStatusCode.OK);

        var asAlice = await HistoryAsync(alice, "Guarded", id);
        Assert.Equal(["name"], Changes(asAlice[0]!).Keys);
        var asSales = await HistoryAsync(sales, "Guarded", id);
        Assert.Equal(["name", "phone"], Changes(asSales[0]!).Keys.Order(StringComparer.Ordinal));
        Assert.Equal("556", Changes(asSales[0]!)["phone"].New!.GetValue<string>());
        using var master = Server.Client().AsMaster();
        var asMaster = await HistoryAsync(master, "Guarded", id);
        Assert.Equal(["name", "phone"], Changes(asMaster[0]!).Keys.Order(StringComparer.Ordinal));
        Assert.DoesNotContain("1234", asMaster.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain("9999", asMaster.ToJsonString(), StringComparison.Ordinal);

        // Users are recorded here: sign-up and a password change leave no password, hash or session token in the history.
        using var signer = Server.Client();
        var (userId, token) = await signer.SignUpAsync(Wire.Unique("pw"), "first secret");
        var renamed = Wire.Unique("renamed");
        (await signer.WithSession(token).PutAsync($"users/{userId}", new JsonObject { ["password"] = "second secret", ["username"] = renamed })).EnsureStatus(HttpStatusCode.OK);
        var userHistory = await HistoryAsync(master, "_User", userId);
        Assert.Equal(2, userHistory.Count);
        var text = userHistory.ToJsonString();
        Assert.DoesNotContain("secret", text, StringComparison.Ordinal);
        Assert.DoesNotContain("$2", text, StringComparison.Ordinal);
        Assert.DoesNotContain(token, text, StringComparison.Ordinal);
        Assert.DoesNotContain(userHistory.SelectMany(e => Changes(e!).Keys), k => k.StartsWith('_') || k is "password" or "sessionToken" or "authData");
        Assert.Equal(["username"], Changes(userHistory[0]!).Keys);
        Assert.Equal(renamed, Changes(userHistory[0]!)["username"].New!.GetValue<string>());
    }

    [Fact]
    public async Task a_deleted_objects_history_is_readable_by_who_could_read_it_when_it_was_deleted()
    {
        var (alice, aliceId, _) = await Server.UserAsync("del-owner");
        var (bob, bobId, _) = await Server.UserAsync("del-reader");
        var (carol, _, _) = await Server.UserAsync("del-other");
        var shared = await alice.CreateAsync("Doc", new JsonObject { ["title"] = "s", ["ACL"] = Acl((aliceId, true, true), (bobId, true, false)) });
        var revoked = await alice.CreateAsync("Doc", new JsonObject { ["title"] = "r", ["ACL"] = Acl((aliceId, true, true), (bobId, true, false)) });
        (await alice.PutAsync($"classes/Doc/{revoked}", new JsonObject { ["ACL"] = Acl((aliceId, true, true)) })).EnsureStatus(HttpStatusCode.OK);
        (await alice.DeleteAsync($"classes/Doc/{shared}")).EnsureStatus(HttpStatusCode.OK);
        (await alice.DeleteAsync($"classes/Doc/{revoked}")).EnsureStatus(HttpStatusCode.OK);

        var seen = await HistoryAsync(bob, "Doc", shared);
        Assert.Equal(["delete", "create"], seen.Select(e => e!["event"]!.GetValue<string>()));
        (await bob.GetAsync($"classes/Doc/{revoked}/history")).EnsureError(101);
        (await carol.GetAsync($"classes/Doc/{shared}/history")).EnsureError(101);
        Assert.Equal(3, (await HistoryAsync(alice, "Doc", revoked)).Count);
        using var master = Server.Client().AsMaster();
        Assert.Equal(3, (await HistoryAsync(master, "Doc", revoked)).Count);
    }

    [Fact]
    public async Task limit_and_skip_page_newest_first_and_bad_input_gets_a_parse_error()
    {
        var (alice, _, _) = await Server.UserAsync("pages");
        var id = await alice.CreateAsync("Doc", new JsonObject { ["amount"] = 0 });
        for (var i = 1; i <= 5; i++)
            (await alice.PutAsync($"classes/Doc/{id}", new JsonObject { ["amount"] = i })).EnsureStatus(HttpStatusCode.OK);

        Assert.Equal(new long[] { 6L, 5L, 4L, 3L, 2L, 1L }, Sequences(await HistoryAsync(alice, "Doc", id)));
        Assert.Equal(new long[] { 6L, 5L }, Sequences(await HistoryAsync(alice, "Doc", id, "?limit=2")));
        Assert.Equal(new long[] { 4L, 3L }, Sequences(await HistoryAsync(alice, "Doc", id, "?limit=2&skip=2")));
        Assert.Equal(new long[] { 1L }, Sequences(await HistoryAsync(alice, "Doc", id, "?skip=5")));
        Assert.Empty(await HistoryAsync(alice, "Doc", id, "?limit=0"));
        Assert.Equal(6, (await HistoryAsync(alice, "Doc", id, "?limit=100000")).Count);

        (await alice.GetAsync($"classes/Doc/{id}/history?limit=-1")).EnsureError(102);
        (await alice.GetAsync($"classes/Doc/{id}/history?limit=many")).EnsureError(102);
        (await alice.GetAsync($"classes/Doc/{id}/history?skip=-3")).EnsureError(102);
        (await alice.GetAsync($"classes/Doc/{id}/history?order=sequence")).EnsureError(102);
        (await alice.GetAsync($"classes/Doc/{id}/history?skip=99999999")).EnsureError(102);
        (await alice.GetAsync($"classes/Unrecorded/{id}/history")).EnsureError(119);
        (await alice.GetAsync($"classes/_Session/{id}/history")).EnsureError(119);
        (await alice.GetAsync($"classes/_History/{id}/history")).EnsureError(103);
        (await alice.GetAsync($"classes/1nvalid/{id}/history")).EnsureError(103);
        (await alice.GetAsync("classes/Doc/missing123/history")).EnsureError(101);
        foreach (var method in new[] { HttpMethod.Post, HttpMethod.Put, HttpMethod.Delete })
            Assert.Equal(HttpStatusCode.NotFound, (await alice.SendAsync(method, $"classes/Doc/{id}/history", new JsonObject())).Status);
    }

    [Fact]
    public async Task the_history_class_is_out_of_every_client_door_even_for_the_master_key()
    {
        using var master = Server.Client().AsMaster();
        await master.CreateAsync("Doc", new JsonObject { ["title"] = "hidden" });
        Assert.NotEqual(HttpStatusCode.OK, (await master.GetAsync("classes/_History")).Status);
        Assert.NotEqual(HttpStatusCode.OK, (await master.PostAsync("classes/_History", new JsonObject { ["targetId"] = "x" })).Status);
        Assert.NotEqual(HttpStatusCode.OK, (await master.GetAsync("schemas/_History")).Status);
        Assert.DoesNotContain((await master.GetAsync("schemas")).Results, c => c!["className"]!.GetValue<string>() == "_History");
        using var graphql = new GraphQLClient(Server).AsMaster();
        var types = (await graphql.SendAsync("{ __schema { queryType { fields { name } } } }")).Ok()["__schema"]!["queryType"]!["fields"]!.AsArray()
            .Select(f => f!["name"]!.GetValue<string>()).ToList();
        Assert.Contains("history", types);
        Assert.DoesNotContain(types, t => t.Contains("History", StringComparison.Ordinal) && t != "history");
    }

    [Fact]
    public async Task graphql_and_mcp_read_the_same_history_under_the_same_decision()
    {
        var (alice, aliceId, aliceToken) = await Server.UserAsync("gq-owner");
        var (_, _, bobToken) = await Server.UserAsync("gq-outsider");
        var id = await alice.CreateAsync("Doc", new JsonObject { ["title"] = "a", ["ACL"] = Acl((aliceId, true, true)) });
        (await alice.PutAsync($"classes/Doc/{id}", new JsonObject { ["title"] = "b" })).EnsureStatus(HttpStatusCode.OK);
        var rest = await HistoryAsync(alice, "Doc", id);

        const string Query = """
            query($id: ID!, $limit: Int) { history(className: "Doc", objectId: $id, limit: $limit) {
              id event at sequence userId master door changes { field old new } } }
            """;
        using var asAlice = new GraphQLClient(Server).WithSession(aliceToken);
        var entries = (await asAlice.SendAsync(Query, new { id, limit = 10 })).Ok()["history"]!.AsArray();
        Assert.Equal(rest.Select(e => e!["id"]!.GetValue<string>()), entries.Select(e => e!["id"]!.GetValue<string>()));
        Assert.Equal([2, 1], entries.Select(e => e!["sequence"]!.GetValue<int>()));
        Assert.Equal(aliceId, entries[0]!["userId"]!.GetValue<string>());
        Assert.Equal(rest[0]!["at"]!["iso"]!.GetValue<string>(), entries[0]!["at"]!.GetValue<string>());
        Assert.Equal(("a", "b"), (entries[0]!["changes"]![0]!["old"]!.GetValue<string>(), entries[0]!["changes"]![0]!["new"]!.GetValue<string>()));
        // A global id works as well as an objectId.
        var globalId = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("Doc:" + id));
        Assert.Equal(2, (await asAlice.SendAsync(Query, new { id = globalId })).Ok()["history"]!.AsArray().Count);
        using var asBob = new GraphQLClient(Server).WithSession(bobToken);
        (await asBob.SendAsync(Query, new { id })).ParseError(101);
        (await asAlice.SendAsync(Query, new { id, limit = -1 })).ParseError(102);

        await using var mcpAlice = await McpTests.ConnectAsync(Server, aliceToken);
        var viaMcp = (await McpTests.CallAsync(mcpAlice, "history", new JsonObject { ["className"] = "Doc", ["objectId"] = id, ["limit"] = 1 }))["results"]!.AsArray();
        Assert.Equal(JsonSerializer.Serialize(rest[0]), JsonSerializer.Serialize(viaMcp.Single()));
        await using var mcpBob = await McpTests.ConnectAsync(Server, bobToken);
        Assert.Equal(101, await McpTests.RefusedAsync(mcpBob, "history", new JsonObject { ["className"] = "Doc", ["objectId"] = id }));
    }
}
