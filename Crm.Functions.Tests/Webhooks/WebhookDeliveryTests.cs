using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Store;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Crm.Functions.Tests.Webhooks;

/// <summary>
/// Outgoing webhooks end to end: URLs registered through Parse's /hooks, changes made through REST, and a real HTTP
/// receiver on loopback that checks every signature — ordering per object, retries after 500s and timeouts, dead
/// letters and their retry, and the outbox written with the change. Both stores.
/// </summary>
public sealed class WebhookDeliveryTests(ITestOutputHelper output)
{
    internal static Dictionary<string, string?> Settings(params (string Key, string? Value)[] extra)
    {
        var settings = TestSettings.Fast(
            ("Parse:Webhooks:AllowLoopback", "true"),
            ("Parse:Webhooks:PollMilliseconds", "50"),
            ("Parse:Webhooks:InitialBackoffSeconds", "0.2"),
            ("Parse:Webhooks:MaxBackoffSeconds", "1"),
            ("Parse:Webhooks:TimeoutSeconds", "1"),
            ("Parse:Webhooks:MaxAttempts", "3"),
            ("Parse:Webhooks:HeldGraceSeconds", "1"));
        foreach (var (key, value) in extra) settings[key] = value;
        return settings;
    }

    internal static async Task<string> RegisterTriggerAsync(ParseClient master, string className, string triggerName, string url)
    {
        var created = (await master.PostAsync("hooks/triggers", new JsonObject { ["className"] = className, ["triggerName"] = triggerName, ["url"] = url }))
            .EnsureStatus(HttpStatusCode.OK);
        Assert.Equal(className, created.Json!["className"]!.GetValue<string>());
        Assert.Equal(url, created.Json["url"]!.GetValue<string>());
        return created.Json["secret"]!.GetValue<string>();
    }

    private static async Task<JsonArray> DeliveriesAsync(ParseClient master, string? status = null) =>
        (await master.GetAsync("hooks/deliveries" + (status is null ? "" : "?status=" + status))).EnsureStatus(HttpStatusCode.OK).Results;

    private static async Task<JsonArray> WaitForDeliveriesAsync(ParseClient master, string status, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var found = await DeliveriesAsync(master, status);
            if (found.Count >= count) return found;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{found.Count} deliveries {status}, expected {count}: {(await DeliveriesAsync(master)).ToJsonString()}");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task every_change_is_delivered_signed_in_order_per_object()
    {
        await using var receiver = new WebhookReceiver();
        using var server = new CrmServer(Settings());
        using var master = server.Client().AsMaster();
        var saveSecret = await RegisterTriggerAsync(master, "Hooked", "afterSave", receiver.Url("/save"));
        var deleteSecret = await RegisterTriggerAsync(master, "Hooked", "afterDelete", receiver.Url("/delete"));
        Assert.NotEqual(saveSecret, deleteSecret);

        (await master.PostAsync("schemas/Hooked", new JsonObject
        {
            ["className"] = "Hooked",
            ["fields"] = new JsonObject { ["n"] = new JsonObject { ["type"] = "Number" }, ["title"] = new JsonObject { ["type"] = "String" } },
        })).EnsureStatus(HttpStatusCode.OK);
        var (user, userId, _) = await server.UserAsync("hooker");
        var first = await user.CreateAsync("Hooked", new JsonObject { ["n"] = 0, ["title"] = "a" });
        var second = await user.CreateAsync("Hooked", new JsonObject { ["n"] = 0 });
        for (var i = 1; i <= 4; i++)
        {
            (await user.PutAsync($"classes/Hooked/{first}", new JsonObject { ["n"] = i })).EnsureStatus(HttpStatusCode.OK);
            (await master.PutAsync($"classes/Hooked/{second}", new JsonObject { ["n"] = i })).EnsureStatus(HttpStatusCode.OK);
        }
        (await user.DeleteAsync($"classes/Hooked/{first}")).EnsureStatus(HttpStatusCode.OK);

        var received = await receiver.WaitForAsync(r => r.Count == 11);
        foreach (var request in received)
            Assert.True(request.Verifies(request.Path == "/save" ? saveSecret : deleteSecret), $"signature of {request.Body}");
        Assert.False(received[0].Verifies(saveSecret + "x"));

        // In order per object and hook: the afterSave URL got the object's saves in sequence. The delete goes to another
        // URL (its own order), so it may arrive before the last save's; its sequence says it came after.
        Assert.Equal([1L, 2, 3, 4, 5], received.Where(r => r.Path == "/save").Select(r => r.Json)
            .Where(j => j["object"]!["objectId"]!.GetValue<string>() == first).Select(j => j["sequence"]!.GetValue<long>()));
        var ofFirst = received.Select(r => r.Json).Where(j => j["object"]!["objectId"]!.GetValue<string>() == first)
            .OrderBy(j => j["sequence"]!.GetValue<long>()).ToList();
        Assert.Equal(["create", "update", "update", "update", "update", "delete"], ofFirst.Select(j => j["event"]!.GetValue<string>()));
        Assert.Equal([1L, 2, 3, 4, 5, 6], ofFirst.Select(j => j["sequence"]!.GetValue<long>()));
        Assert.Equal([0, 1, 2, 3, 4, 4], ofFirst.Select(j => j["object"]!["n"]!.GetValue<int>()));
        Assert.Equal("afterDelete", ofFirst[^1]["triggerName"]!.GetValue<string>());
        Assert.Null(ofFirst[0]["original"]);
        Assert.Equal(2, ofFirst[2]["object"]!["n"]!.GetValue<int>());
        Assert.Equal(1, ofFirst[2]["original"]!["n"]!.GetValue<int>());
        Assert.Equal(userId, ofFirst[1]["user"]!.GetValue<string>());
        Assert.Equal("Hooked", ofFirst[0]["className"]!.GetValue<string>());
        Assert.NotNull(ofFirst[0]["triggeredAt"]);
        // Each change has its own id; server-internal fields never leave the server.
        Assert.Equal(ofFirst.Count, ofFirst.Select(j => j["id"]!.GetValue<string>()).Distinct().Count());
        Assert.All(received, r => Assert.DoesNotContain("\"_chg", r.Body, StringComparison.Ordinal));

        var ofSecond = received.Select(r => r.Json).Where(j => j["object"]!["objectId"]!.GetValue<string>() == second).ToList();
        Assert.Equal([0, 1, 2, 3, 4], ofSecond.Select(j => j["object"]!["n"]!.GetValue<int>()));
        Assert.True(ofSecond.Skip(1).All(j => j["master"]!.GetValue<bool>()));

        await WaitForDeliveriesAsync(master, "delivered", 11);
        Assert.Empty(await DeliveriesAsync(master, "pending"));
    }

    [Fact]
    public async Task failures_are_retried_with_backoff_and_hold_back_the_objects_later_changes()
    {
        await using var receiver = new WebhookReceiver();
        using var server = new CrmServer(Settings(("Parse:Webhooks:MaxAttempts", "5")));
        using var master = server.Client().AsMaster();
        var secret = await RegisterTriggerAsync(master, "Retried", "afterSave", receiver.Url("/hook"));
        // The first request fails with 500, the second gets no answer within the timeout (1 s), then all succeed.
        receiver.Respond = async (_, before) =>
        {
            if (before == 0) return (500, "{\"error\":\"down\"}", null);
            if (before == 1) await Task.Delay(TimeSpan.FromSeconds(3));
            return (200, "{}", null);
        };
        var id = await master.CreateAsync("Retried", new JsonObject { ["step"] = 1 });
        (await master.PutAsync($"classes/Retried/{id}", new JsonObject { ["step"] = 2 })).EnsureStatus(HttpStatusCode.OK);
        (await master.PutAsync($"classes/Retried/{id}", new JsonObject { ["step"] = 3 })).EnsureStatus(HttpStatusCode.OK);

        var received = await receiver.WaitForAsync(r => r.Select(x => x.Json["sequence"]!.GetValue<long>()).Distinct().Count() == 3
            && r[^1].Json["sequence"]!.GetValue<long>() == 3);
        // Step 1 was sent three times (500, timeout, success) before step 2 was sent at all.
        var steps = received.Select(r => r.Json["object"]!["step"]!.GetValue<int>()).ToList();
        Assert.Equal([1, 1, 1, 2, 3], steps);
        Assert.All(received, r => Assert.True(r.Verifies(secret)));
        // A retry sends the same event: the same id and body; the timestamp and signature are the attempt's.
        Assert.Single(received.Take(3).Select(r => r.Body).Distinct());
        var delivered = await WaitForDeliveriesAsync(master, "delivered", 3);
        var firstDelivery = delivered.Single(d => d!["sequence"]!.GetValue<long>() == 1)!;
        Assert.Equal(3, firstDelivery["attempts"]!.GetValue<int>());
    }

    [Fact]
    public async Task a_delivery_failing_every_attempt_is_dead_visible_to_the_master_key_and_can_be_sent_again()
    {
        await using var receiver = new WebhookReceiver();
        using var server = new CrmServer(Settings());
        using var master = server.Client().AsMaster();
        await RegisterTriggerAsync(master, "Doomed", "afterSave", receiver.Url("/down"));
        receiver.Respond = (_, _) => Task.FromResult((503, "{}", (string?)null));
        var id = await master.CreateAsync("Doomed", new JsonObject { ["v"] = 1 });
        (await master.PutAsync($"classes/Doomed/{id}", new JsonObject { ["v"] = 2 })).EnsureStatus(HttpStatusCode.OK);

        // Three attempts each (MaxAttempts 3); a dead delivery no longer holds back the object's next one.
        var dead = await WaitForDeliveriesAsync(master, "dead", 2);
        Assert.All(dead, d =>
        {
            Assert.Equal(3, d!["attempts"]!.GetValue<int>());
            Assert.Equal("HTTP 503", d["lastError"]!.GetValue<string>());
            Assert.Equal(id, d["objectId"]!.GetValue<string>());
            Assert.Equal(receiver.Url("/down"), d["url"]!.GetValue<string>());
        });
        Assert.Equal(6, receiver.On("/down").Count);

        // Only the master key sees the outbox; clients get Parse's master-key refusal.
        var (user, _, _) = await server.UserAsync("nosy");
        Assert.NotEqual(HttpStatusCode.OK, (await user.GetAsync("hooks/deliveries?status=dead")).Status);
        (await master.GetAsync("classes/_WebhookDelivery")).EnsureError(103);
        (await master.GetAsync("hooks/deliveries?status=lost")).EnsureError(102);

        receiver.Respond = (_, _) => Task.FromResult((200, "{}", (string?)null));
        var deliveryId = dead[0]!["deliveryId"]!.GetValue<string>();
        (await master.PostAsync($"hooks/deliveries/{deliveryId}/retry", null)).EnsureStatus(HttpStatusCode.OK);
        (await master.PostAsync($"hooks/deliveries/{deliveryId}/retry", null)).EnsureError(101);
        await WaitForDeliveriesAsync(master, "delivered", 1);
        Assert.Equal(7, receiver.On("/down").Count);
    }

    [Fact]
    public async Task records_held_by_a_write_that_never_finished_are_settled_from_the_object()
    {
        // What a process stopping between writing held records and releasing them leaves (Cosmos DB's write order):
        // a record whose change reached the object is released and delivered, one whose change did not is dropped.
        await using var receiver = new WebhookReceiver();
        using var server = new CrmServer(Settings());
        using var master = server.Client().AsMaster();
        await RegisterTriggerAsync(master, "Settled", "afterSave", receiver.Url("/settled"));
        var id = await master.CreateAsync("Settled", new JsonObject { ["v"] = 1 });
        await receiver.WaitForAsync(r => r.Count == 1);

        var store = server.Services.GetRequiredService<IObjectStore>();
        var obj = (await store.FindAsync(new StoreQuery("Settled", new Core.Query.CompareNode(Core.Query.FieldRef.Of("objectId"), Core.Query.CompareOp.Eq,
            new Core.Query.StringValue(id)), [], 0, 1), CancellationToken.None)).Single();
        var committedChange = obj.Data[JournaledWrites.ChangeIdsKey]![0]!.GetValue<string>();
        var hookId = (await store.FindAsync(new StoreQuery("_Hooks", Core.Query.QueryNode.True, [], 0, 10), CancellationToken.None)).Single().ObjectId;
        var old = DateTimeOffset.UtcNow.AddMinutes(-5);
        StoredObject Held(string change, long seq, string marker)
        {
            var data = new JsonObject
            {
                ["status"] = "pending", ["targetClass"] = "Settled", ["targetId"] = id, ["change"] = change, ["kind"] = "update", ["seq"] = seq,
                ["changedAt"] = Core.Json.ParseDates.Format(old), ["hook"] = hookId, ["attempts"] = 0, ["nextAt"] = Core.Json.ParseDates.Format(old),
                ["payload"] = new JsonObject { ["marker"] = marker, ["sequence"] = seq }.ToJsonString(),
            };
            var record = new StoredObject
            {
                ClassName = "_WebhookDelivery", ObjectId = Core.Json.ObjectIds.New(), OwnerId = "Settled:" + id,
                CreatedAt = Core.Json.ParseDates.Format(old), UpdatedAt = Core.Json.ParseDates.Format(old), Data = data,
            };
            JournaledWrites.Hold(record);
            return record;
        }
        // The committed change's record (as if its release was lost) and one of a write that never reached the object.
        await store.InsertAsync(Held(committedChange, 1, "committed"), [], CancellationToken.None);
        await store.InsertAsync(Held("neverCommitted01", 2, "lost"), [], CancellationToken.None);

        await receiver.WaitForAsync(r => r.Any(x => x.Body.Contains("committed", StringComparison.Ordinal)));
        await Task.Delay(500);
        Assert.DoesNotContain(receiver.Received, r => r.Body.Contains("\"lost\"", StringComparison.Ordinal));
        Assert.Empty(await DeliveriesAsync(master, "held"));
        Assert.Equal(2, (await DeliveriesAsync(master, "delivered")).Count);
    }

    [Fact]
    public async Task delivery_rate_to_a_local_receiver()
    {
        // A measurement for docs/webhooks.md, not a timed assertion: every event must arrive; the rate is reported.
        const int Objects = 50, UpdatesPerObject = 3;
        await using var receiver = new WebhookReceiver();
        // The held requests must not time out while the writes are made (slow on a loaded machine): a retry would send some
        // events twice and, after MaxAttempts, dead-letter others, which this measurement is not about.
        using var server = new CrmServer(Settings(("Parse:Webhooks:TimeoutSeconds", "300"), ("Parse:Webhooks:MaxAttempts", "1000")));
        using var master = server.Client().AsMaster();
        await RegisterTriggerAsync(master, "Measured", "afterSave", receiver.Url("/m"));
        // The receiver holds the first requests until every write is made, so the outbox has a backlog to deliver.
        var writesDone = new TaskCompletionSource();
        receiver.Respond = async (_, _) => { await writesDone.Task; return (200, "{}", null); };
        var ids = await Task.WhenAll(Enumerable.Range(0, Objects).Select(i => master.CreateAsync("Measured", new JsonObject { ["i"] = i })));
        await Task.WhenAll(ids.Select(async id =>
        {
            for (var u = 1; u <= UpdatesPerObject; u++)
                (await master.PutAsync($"classes/Measured/{id}", new JsonObject { ["u"] = u })).EnsureStatus(HttpStatusCode.OK);
        }));
        var released = DateTimeOffset.UtcNow;
        writesDone.SetResult();
        var received = await receiver.WaitForAsync(r => r.Count >= Objects * (UpdatesPerObject + 1), TimeSpan.FromMinutes(3));
        Assert.Equal(Objects * (UpdatesPerObject + 1), received.Count);
        var seconds = (received.Max(r => r.At) - released).TotalSeconds;
        output.WriteLine($"{CrmServer.StoreKind}: a backlog of {received.Count} events delivered in {seconds:0.00} s = {received.Count / Math.Max(seconds, 0.001):0} events/s");
        foreach (var group in received.GroupBy(r => r.Json["object"]!["objectId"]!.GetValue<string>()))
            Assert.Equal([1L, 2, 3, 4], group.Select(r => r.Json["sequence"]!.GetValue<long>()));
    }
}
