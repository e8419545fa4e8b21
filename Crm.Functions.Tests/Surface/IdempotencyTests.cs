using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Store;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Crm.Functions.Tests.Surface;

/// <summary>
/// Parse's request idempotency (Parse:Idempotency) over real HTTP on the store under test: a guarded write carrying an
/// <c>X-Parse-Request-Id</c> seen within the TTL answers 159 and does nothing, on this instance or another sharing the
/// store; ids expire and are purged; it is off unless enabled; /batch, GET and DELETE are not guarded, as in parse-server.
/// </summary>
public sealed class IdempotencyTests
{
    private static Dictionary<string, string?> Enabled(params (string Key, string? Value)[] extra)
    {
        var settings = new Dictionary<string, string?>(StringComparer.Ordinal) { ["Parse:Idempotency:Enabled"] = "true" };
        foreach (var (key, value) in extra) settings[key] = value;
        return settings;
    }

    private static Dictionary<string, string> Id(string requestId) => new() { ["X-Parse-Request-Id"] = requestId };

    /// <summary>Request ids the store holds, counted in the store itself: no door lists the class.</summary>
    private static Task<long> StoredIdsAsync(CrmServer server) =>
        server.Services.GetRequiredService<IObjectStore>().CountAsync("_Idempotency", QueryNode.True, CancellationToken.None);

    private static Task<ParseResponse> CreateAsync(ParseClient client, string cls, string requestId, int n) =>
        client.SendAsync(HttpMethod.Post, $"classes/{cls}", new JsonObject { ["n"] = n }, Id(requestId));

    [Fact]
    public async Task a_repeated_request_id_answers_159_and_does_nothing_while_new_ids_pass()
    {
        using var server = new CrmServer(Enabled());
        using var client = server.Client().AsMaster();
        var cls = Wire.Unique("Idem");
        var requestId = Guid.NewGuid().ToString();

        (await CreateAsync(client, cls, requestId, 1)).EnsureStatus(HttpStatusCode.Created);
        var again = await CreateAsync(client, cls, requestId, 1);
        again.EnsureError(159);
        Assert.Equal("Duplicate request", again.Json!["error"]!.GetValue<string>());
        Assert.Equal(1, await client.CountAsync(cls));

        // An update retried with its id is not applied twice either.
        var id = (await client.QueryAsync(cls)).Results[0]!["objectId"]!.GetValue<string>();
        var increment = new JsonObject { ["n"] = new JsonObject { ["__op"] = "Increment", ["amount"] = 10 } };
        var updateId = Guid.NewGuid().ToString();
        (await client.SendAsync(HttpMethod.Put, $"classes/{cls}/{id}", increment, Id(updateId))).EnsureStatus(HttpStatusCode.OK);
        (await client.SendAsync(HttpMethod.Put, $"classes/{cls}/{id}", increment, Id(updateId))).EnsureError(159);
        Assert.Equal(11, (await client.GetAsync($"classes/{cls}/{id}")).Json!["n"]!.GetValue<int>());

        (await CreateAsync(client, cls, Guid.NewGuid().ToString(), 2)).EnsureStatus(HttpStatusCode.Created);
        (await client.PostAsync($"classes/{cls}", new JsonObject { ["n"] = 3 })).EnsureStatus(HttpStatusCode.Created);
        (await client.PostAsync($"classes/{cls}", new JsonObject { ["n"] = 3 })).EnsureStatus(HttpStatusCode.Created);
        Assert.Equal(4, await client.CountAsync(cls));
    }

    [Fact]
    public async Task it_is_off_by_default()
    {
        using var server = new CrmServer();
        using var client = server.Client().AsMaster();
        var cls = Wire.Unique("Idem");
        var requestId = Guid.NewGuid().ToString();
        (await CreateAsync(client, cls, requestId, 1)).EnsureStatus(HttpStatusCode.Created);
        (await CreateAsync(client, cls, requestId, 1)).EnsureStatus(HttpStatusCode.Created);
        Assert.Equal(2, await client.CountAsync(cls));
    }

    [Fact]
    public async Task a_failed_request_keeps_its_id_and_sign_ups_and_functions_are_guarded()
    {
        using var server = new CrmServer(Enabled());
        using var master = server.Client().AsMaster();
        var cls = Wire.Unique("Idem");
        await master.CreateAsync(cls, new { n = 0 });

        // As in parse-server the id is claimed before the request runs: a retry of a failure is a duplicate too.
        var requestId = Guid.NewGuid().ToString();
        (await master.SendAsync(HttpMethod.Put, $"classes/{cls}/zzzzzzzzzz", new JsonObject { ["n"] = 1 }, Id(requestId))).EnsureError(101);
        (await master.SendAsync(HttpMethod.Put, $"classes/{cls}/zzzzzzzzzz", new JsonObject { ["n"] = 1 }, Id(requestId))).EnsureError(159);

        using var anonymous = server.Client();
        var username = Wire.Unique("idem");
        var signUp = new JsonObject { ["username"] = username, ["password"] = "correct horse battery" };
        var signUpId = Guid.NewGuid().ToString();
        (await anonymous.SendAsync(HttpMethod.Post, "users", signUp, Id(signUpId))).EnsureStatus(HttpStatusCode.Created);
        (await anonymous.SendAsync(HttpMethod.Post, "users", signUp, Id(signUpId))).EnsureError(159);
        Assert.Equal(1, await master.CountAsync("_User", new { username }));

        // Reads and deletes are not guarded, nor is /batch (parse-server routes neither through its idempotency check).
        var readId = Guid.NewGuid().ToString();
        (await master.SendAsync(HttpMethod.Get, $"classes/{cls}", null, Id(readId))).EnsureStatus(HttpStatusCode.OK);
        (await master.SendAsync(HttpMethod.Get, $"classes/{cls}", null, Id(readId))).EnsureStatus(HttpStatusCode.OK);
        var batchId = Guid.NewGuid().ToString();
        var batch = new JsonObject { ["requests"] = new JsonArray(new JsonObject { ["method"] = "POST", ["path"] = $"/parse/classes/{cls}", ["body"] = new JsonObject { ["n"] = 5 } }) };
        (await master.SendAsync(HttpMethod.Post, "batch", batch, Id(batchId))).EnsureStatus(HttpStatusCode.OK);
        (await master.SendAsync(HttpMethod.Post, "batch", batch, Id(batchId))).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal(3, await master.CountAsync(cls));
    }

    [Fact]
    public async Task paths_narrow_the_guarded_routes_as_parse_servers_idempotency_paths()
    {
        using var server = new CrmServer(Enabled(("Parse:Idempotency:Paths:0", "functions/.*")));
        using var client = server.Client().AsMaster();
        var cls = Wire.Unique("Idem");
        var requestId = Guid.NewGuid().ToString();
        (await CreateAsync(client, cls, requestId, 1)).EnsureStatus(HttpStatusCode.Created);
        (await CreateAsync(client, cls, requestId, 1)).EnsureStatus(HttpStatusCode.Created);
        Assert.Equal(2, await client.CountAsync(cls));
    }

    [Fact]
    public async Task the_ids_are_master_only_and_never_listed_to_clients()
    {
        using var server = new CrmServer(Enabled());
        using var master = server.Client().AsMaster();
        var cls = Wire.Unique("Idem");
        var requestId = Guid.NewGuid().ToString();
        (await CreateAsync(master, cls, requestId, 1)).EnsureStatus(HttpStatusCode.Created);
        Assert.Equal(1, await StoredIdsAsync(server));

        // Server-internal like _Subscription: no door reads or writes it, the master key's included.
        var (user, _, _) = await server.UserAsync("idem");
        using var _user = user;
        (await user.GetAsync("classes/_Idempotency")).EnsureError(103);
        (await master.GetAsync("classes/_Idempotency")).EnsureError(103);
        (await master.PostAsync("classes/_Idempotency", new JsonObject { ["reqId"] = "forged" })).EnsureError(103);
        (await master.GetAsync("schemas/_Idempotency")).EnsureError(103);
        var classes = (await master.GetAsync("schemas")).EnsureStatus(HttpStatusCode.OK).Json!["results"]!.AsArray();
        Assert.DoesNotContain(classes, c => c!["className"]!.GetValue<string>() == "_Idempotency");
        Assert.Equal(1, await StoredIdsAsync(server));
    }

    [Fact]
    public async Task an_id_is_accepted_again_once_its_ttl_has_passed_and_expired_ids_are_purged()
    {
        var time = new AdjustableTime();
        using var server = new CrmServer(Enabled(("Parse:Idempotency:TtlSeconds", "60")), services => services.AddSingleton<TimeProvider>(time));
        using var client = server.Client().AsMaster();
        var cls = Wire.Unique("Idem");
        var requestId = Guid.NewGuid().ToString();
        (await CreateAsync(client, cls, requestId, 1)).EnsureStatus(HttpStatusCode.Created);
        // Well inside the TTL: the real clock moves on too, by seconds on a loaded machine.
        time.Offset = TimeSpan.FromSeconds(45);
        (await CreateAsync(client, cls, requestId, 1)).EnsureError(159);

        time.Offset = TimeSpan.FromSeconds(61);
        (await CreateAsync(client, cls, requestId, 2)).EnsureStatus(HttpStatusCode.Created);
        (await CreateAsync(client, cls, requestId, 2)).EnsureError(159);
        Assert.Equal(2, await client.CountAsync(cls));

        // Ids nobody repeats are purged by later claims once expired.
        (await CreateAsync(client, cls, Guid.NewGuid().ToString(), 3)).EnsureStatus(HttpStatusCode.Created);
        Assert.Equal(2, await StoredIdsAsync(server));
        time.Offset = TimeSpan.FromSeconds(200);
        (await CreateAsync(client, cls, Guid.NewGuid().ToString(), 4)).EnsureStatus(HttpStatusCode.Created);
        Assert.Equal(1, await StoredIdsAsync(server));
    }

    [Fact]
    public async Task an_id_expires_in_real_time_with_a_one_second_ttl()
    {
        using var server = new CrmServer(Enabled(("Parse:Idempotency:TtlSeconds", "1")));
        using var client = server.Client().AsMaster();
        var cls = Wire.Unique("Idem");
        var requestId = Guid.NewGuid().ToString();
        (await CreateAsync(client, cls, requestId, 1)).EnsureStatus(HttpStatusCode.Created);
        // Until the second has passed each retry is refused whole; then one is accepted. No timing is asserted.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var retry = await CreateAsync(client, cls, requestId, 1);
            if (retry.Status == HttpStatusCode.Created) break;
            retry.EnsureError(159);
            Assert.True(DateTime.UtcNow < deadline, "the request id never expired");
            await Task.Delay(200);
        }
        Assert.Equal(2, await client.CountAsync(cls));
    }

    [Fact]
    public async Task two_instances_sharing_a_store_refuse_each_others_ids_and_a_race_has_one_winner()
    {
        using var first = new CrmServer(Enabled());
        using var one = first.Client().AsMaster();
        var cls = Wire.Unique("Idem");
        await one.CreateAsync(cls, new { n = 0 });
        // Started after the class exists, so both instances know it (each caches the schema it loaded).
        using var second = new CrmServer(Enabled(("Parse:DataFolder", first.DataFolder)));
        using var two = second.Client().AsMaster();

        var requestId = Guid.NewGuid().ToString();
        (await CreateAsync(one, cls, requestId, 1)).EnsureStatus(HttpStatusCode.Created);
        (await CreateAsync(two, cls, requestId, 1)).EnsureError(159);

        // The same retry sent to both instances at once: the store lets exactly one claim win.
        var raced = Guid.NewGuid().ToString();
        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => CreateAsync(i % 2 == 0 ? one : two, cls, raced, 2)));
        Assert.Single(answers, a => a.Status == HttpStatusCode.Created);
        foreach (var refused in answers.Where(a => a.Status != HttpStatusCode.Created)) refused.EnsureError(159);
        Assert.Equal(1, await one.CountAsync(cls, new { n = 2 }));
        Assert.Equal(3, await one.CountAsync(cls));
    }
}
