using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Surface;

/// <summary>
/// <c>POST /batch</c> with <c>"transaction": true</c> over real HTTP, on the store under test: all of it is kept or none
/// of it, the failure answers as the first failing request's Parse error with every request's answer in
/// <c>results</c>, hooks and sessions follow only a commit, and on Cosmos DB a transaction spanning partitions is
/// refused with 108 before anything is written.
/// </summary>
public sealed class TransactionalBatchTests(CrmServerFixture fixture) : IClassFixture<CrmServerFixture>
{
    private CrmServer Server => fixture.Server;

    private static JsonObject Request(string method, string path, JsonObject? body = null)
    {
        var request = new JsonObject { ["method"] = method, ["path"] = "/parse/" + path };
        if (body is not null) request["body"] = body;
        return request;
    }

    private static JsonObject Transaction(params JsonNode[] requests) =>
        new() { ["requests"] = new JsonArray(requests), ["transaction"] = true };

    private static JsonObject Increment(int amount) => new() { ["__op"] = "Increment", ["amount"] = amount };

    [CommitFact]
    public async Task a_transaction_that_succeeds_keeps_every_write_and_answers_like_a_batch()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Tx");
        var toUpdate = await client.CreateAsync(cls, new { title = "old", amount = 1 });
        var toDelete = await client.CreateAsync(cls, new { title = "doomed", amount = 0 });

        var response = await client.PostAsync("batch", Transaction(
            Request("POST", $"classes/{cls}", new JsonObject { ["title"] = "first", ["amount"] = 10 }),
            Request("POST", $"classes/{cls}", new JsonObject { ["title"] = "second", ["amount"] = 20 }),
            Request("PUT", $"classes/{cls}/{toUpdate}", new JsonObject { ["title"] = "new", ["amount"] = Increment(2) }),
            Request("DELETE", $"classes/{cls}/{toDelete}")));

        response.EnsureStatus(HttpStatusCode.OK);
        var items = response.Json!.AsArray();
        Assert.Equal(4, items.Count);
        Assert.Matches("^[A-Za-z0-9]{10}$", items[0]!["success"]!["objectId"]!.GetValue<string>());
        Assert.NotNull(items[1]!["success"]!["createdAt"]);
        Assert.Equal(3, items[2]!["success"]!["amount"]!.GetValue<int>());
        Assert.Empty(items[3]!["success"]!.AsObject());

        var titles = (await client.QueryAsync(cls, null, "order=title")).Results.Select(r => r!["title"]!.GetValue<string>());
        Assert.Equal(["first", "new", "second"], titles);
        var updated = (await client.GetAsync($"classes/{cls}/{toUpdate}")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Equal(3, updated["amount"]!.GetValue<int>());
    }

    [Fact]
    public async Task a_failure_midway_keeps_nothing_and_answers_the_first_error_with_every_result()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Tx");
        var kept = await client.CreateAsync(cls, new { title = "kept", amount = 1 });
        var survivor = await client.CreateAsync(cls, new { title = "survivor", amount = 5 });

        var response = await client.PostAsync("batch", Transaction(
            Request("POST", $"classes/{cls}", new JsonObject { ["title"] = "never", ["amount"] = 7 }),
            Request("PUT", $"classes/{cls}/{kept}", new JsonObject { ["title"] = "changed", ["amount"] = Increment(100) }),
            Request("POST", $"classes/{cls}", new JsonObject { ["title"] = "wrong type", ["amount"] = "not a number" }),
            Request("DELETE", $"classes/{cls}/{survivor}")));

        response.EnsureError(111);
        Assert.Contains("amount", response.Json!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        var results = response.Json!["results"]!.AsArray();
        Assert.Equal(4, results.Count);
        Assert.NotNull(results[0]!["success"]);
        Assert.NotNull(results[1]!["success"]);
        Assert.Equal(111, results[2]!["error"]!["code"]!.GetValue<int>());
        Assert.False(string.IsNullOrEmpty(results[2]!["error"]!["error"]!.GetValue<string>()));
        Assert.NotNull(results[3]!["success"]);

        // Nothing of it happened: no new object, the update undone, the deleted object still there.
        var objects = (await client.QueryAsync(cls, null, "order=title")).Results;
        Assert.Equal(["kept", "survivor"], objects.Select(o => o!["title"]!.GetValue<string>()));
        Assert.Equal(1, objects[0]!["amount"]!.GetValue<int>());
        (await client.GetAsync($"classes/{cls}/{survivor}")).EnsureStatus(HttpStatusCode.OK);
        var neverId = results[0]!["success"]!["objectId"]!.GetValue<string>();
        (await client.GetAsync($"classes/{cls}/{neverId}")).EnsureError(101);
    }

    [Fact]
    public async Task the_first_failure_decides_code_and_status_and_later_failures_are_listed_too()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Tx");
        var existing = await client.CreateAsync(cls, new { title = "existing", amount = 1 });

        var response = await client.PostAsync("batch", Transaction(
            Request("PUT", $"classes/{cls}/zzzzzzzzzz", new JsonObject { ["title"] = "ghost" }),
            Request("PUT", $"classes/{cls}/{existing}", new JsonObject { ["amount"] = Increment(1) }),
            Request("POST", $"classes/{cls}", new JsonObject { ["objectId"] = "abcdefghij" })));

        response.EnsureError(101);
        Assert.Equal("Object not found.", response.Json!["error"]!.GetValue<string>());
        var results = response.Json!["results"]!.AsArray();
        Assert.Equal(
            [101, null, 105],
            results.Select(r => r!["error"]?["code"]?.GetValue<int>()));
        Assert.Equal(1, (await client.GetAsync($"classes/{cls}/{existing}")).Json!["amount"]!.GetValue<int>());
    }

    [Fact]
    public async Task a_sign_up_rolled_back_creates_no_user_and_no_session()
    {
        using var master = Server.Client().AsMaster();
        var cls = Wire.Unique("Tx");
        var username = Wire.Unique("txuser");
        var sessionsBefore = await master.CountAsync("_Session");
        var failed = await master.PostAsync("batch", Transaction(
            Request("POST", "users", new JsonObject { ["username"] = username, ["password"] = "correct horse battery" }),
            Request("POST", $"classes/{cls}", new JsonObject { ["objectId"] = "abcdefghij" })));
        failed.EnsureError(105);
        Assert.Equal(0, await master.CountAsync("_User", new { username }));
        Assert.Equal(sessionsBefore, await master.CountAsync("_Session"));
        using var anonymous = Server.Client();
        (await anonymous.LogInAsync(username, "correct horse battery")).EnsureError(101);
    }

    [CommitFact]
    public async Task a_committed_sign_up_runs_its_after_save_hook_and_answers_its_session_token()
    {
        var username = Wire.Unique("txuser");
        using var client = Server.Client();
        var committed = await client.PostAsync("batch", Transaction(
            Request("POST", "users", new JsonObject { ["username"] = username, ["password"] = "correct horse battery" })));
        committed.EnsureStatus(HttpStatusCode.OK);
        var token = committed.Json![0]!["success"]!["sessionToken"]!.GetValue<string>();
        using var session = Server.Client().WithSession(token);
        Assert.Equal(username, (await session.GetAsync("users/me")).EnsureStatus(HttpStatusCode.OK).Json!["username"]!.GetValue<string>());
    }

    [Fact]
    public async Task without_the_flag_or_with_false_a_batch_keeps_what_succeeded()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Tx");
        var body = Transaction(
            Request("POST", $"classes/{cls}", new JsonObject { ["title"] = "kept" }),
            Request("POST", $"classes/{cls}", new JsonObject { ["objectId"] = "abcdefghij" }));
        body["transaction"] = false;
        var response = await client.PostAsync("batch", body);
        response.EnsureStatus(HttpStatusCode.OK);
        Assert.Equal(105, response.Json![1]!["error"]!["code"]!.GetValue<int>());
        Assert.Equal(1, await client.CountAsync(cls));
    }

    [Fact]
    public async Task the_batch_size_limit_applies_to_transactions()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Tx");
        var requests = Enumerable.Range(0, 51).Select(i => (JsonNode)Request("POST", $"classes/{cls}", new JsonObject { ["n"] = i })).ToArray();
        (await client.PostAsync("batch", Transaction(requests))).EnsureError(107);
        Assert.Equal(0, await client.CountAsync(cls));
    }

    [Fact]
    public async Task acl_applies_per_request_and_a_refused_write_rolls_back_the_others()
    {
        var (owner, ownerId, _) = await Server.UserAsync("txowner");
        var (other, _, _) = await Server.UserAsync("txother");
        using var _owner = owner;
        using var _other = other;
        var cls = Wire.Unique("Tx");
        using var master = Server.Client().AsMaster();
        await master.CreateAsync(cls, new { title = "seed" });
        var acl = new JsonObject { [ownerId] = new JsonObject { ["read"] = true, ["write"] = true } };
        var privateId = await owner.CreateAsync(cls, new JsonObject { ["title"] = "private", ["ACL"] = acl });
        var publicId = await owner.CreateAsync(cls, new JsonObject { ["title"] = "public" });

        var response = await other.PostAsync("batch", Transaction(
            Request("PUT", $"classes/{cls}/{publicId}", new JsonObject { ["title"] = "touched" }),
            Request("PUT", $"classes/{cls}/{privateId}", new JsonObject { ["title"] = "stolen" })));
        response.EnsureError(101);
        Assert.Equal("public", (await master.GetAsync($"classes/{cls}/{publicId}")).Json!["title"]!.GetValue<string>());
        Assert.Equal("private", (await master.GetAsync($"classes/{cls}/{privateId}")).Json!["title"]!.GetValue<string>());
    }

    [Fact]
    public async Task writes_to_two_classes_commit_together_on_sqlite_and_are_refused_whole_on_cosmos()
    {
        using var client = Server.Client().AsMaster();
        var first = Wire.Unique("TxA");
        var second = Wire.Unique("TxB");
        await client.CreateAsync(first, new { title = "existing" });
        await client.CreateAsync(second, new { title = "existing" });

        var response = await client.PostAsync("batch", Transaction(
            Request("POST", $"classes/{first}", new JsonObject { ["title"] = "one" }),
            Request("POST", $"classes/{second}", new JsonObject { ["title"] = "two" })));

        if (CrmServer.UsesCosmos)
        {
            // Cosmos DB commits a transaction within one partition of one container only (docs/cosmos.md).
            response.EnsureError(108);
            Assert.Contains("partition", response.Json!["error"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Equal(1, await client.CountAsync(first));
            Assert.Equal(1, await client.CountAsync(second));
        }
        else
        {
            response.EnsureStatus(HttpStatusCode.OK);
            Assert.Equal(2, await client.CountAsync(first));
            Assert.Equal(2, await client.CountAsync(second));
        }
    }
}

/// <summary>
/// A test that commits a transaction. On the Cosmos pass it is reported as skipped: the local Cosmos DB API server the
/// tests run against (@vercel/cosmosdb-server) reads transactional batches in the JS SDK's JSON form only, while the .NET
/// SDK sends them in Cosmos's binary HybridRow form, which it cannot parse (and it would not roll back either). What
/// happens before the commit — every refusal and every rollback — is tested on both stores.
/// </summary>
internal sealed class CommitFactAttribute : FactAttribute
{
    public CommitFactAttribute()
    {
        if (CrmServer.UsesCosmos)
            Skip = "The local Cosmos DB API server cannot run the .NET SDK's transactional batch (HybridRow); a commit needs Azure Cosmos DB.";
    }
}
