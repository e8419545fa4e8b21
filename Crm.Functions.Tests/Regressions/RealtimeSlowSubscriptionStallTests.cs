using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using static Crm.Functions.Tests.Realtime.RealtimeFixtures;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// One user's subscription with a catastrophic regex used to stall real time for everyone: every change of the
/// class evaluated it (a regex timeout each) on the one pump loop, and the timeout dropped the change for all.
/// </summary>
public sealed class RealtimeSlowSubscriptionStallTests
{
    private const string Catastrophic = """{"title":{"$regex":"^(?=(a+)+$)"}}""";
    private static readonly string SlowTitle = new string('a', 40) + "!";

    [Fact]
    public async Task another_users_event_arrives_promptly_while_a_stored_subscription_with_a_catastrophic_regex_exists()
    {
        using var server = FeedServer();
        await CreateDealClassAsync(server);
        var (mallory, malloryId, malloryToken) = await server.UserAsync("mallory");
        var (alice, aliceId, aliceToken) = await server.UserAsync("alice");
        await using var malloryLive = await RealtimeClient.ConnectAsync(server, malloryToken);
        await using var aliceLive = await RealtimeClient.ConnectAsync(server, aliceToken);
        var subscriptionId = await HttpSubscriptions.SubscribeAsync(server, malloryToken, "Deal", Catastrophic);

        // Each change of this deal costs the filter a regex timeout (250 ms): 41 of them are ~10 s of evaluation.
        var slow = await CreateDealAsync(mallory, new JsonObject { ["title"] = SlowTitle, ["ACL"] = Acl((malloryId, true)) });
        for (var i = 0; i < 40; i++)
            (await mallory.PutAsync($"classes/Deal/{slow}", new JsonObject { ["amount"] = i })).EnsureStatus(HttpStatusCode.OK);

        await CreateDealAsync(alice, new JsonObject { ["title"] = "Initech", ["ACL"] = Acl((aliceId, true)) });
        var created = await aliceLive.NextAsync("created", "alice's own new deal, unrelated to mallory's subscription");
        Assert.Equal("Initech", created["object"]!["title"]!.GetValue<string>());

        // The failing subscription ends for its subscriber alone: an error event, and it is removed.
        var error = await malloryLive.NextAsync("event", "the error event of the subscription whose filter timed out");
        Assert.Equal("error", error["op"]!.GetValue<string>());
        Assert.Equal(subscriptionId, error["subscriptionId"]!.GetValue<string>());
        Assert.Equal(124, error["code"]!.GetValue<int>());
        var (status, list) = await HttpSubscriptions.CallAsync(server, HttpMethod.Get, "", null, ("X-Parse-Session-Token", malloryToken));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Empty(list!["results"]!.AsArray());
        // mallory's own feed still flows.
        var next = await CreateDealAsync(mallory, new JsonObject { ["title"] = "Plain", ["ACL"] = Acl((malloryId, true)) });
        Assert.Equal(next, (await malloryLive.NextAsync("created", "mallory's feed event of her next deal"))["objectId"]!.GetValue<string>());
    }

    [Fact]
    public async Task a_hub_method_subscription_with_a_catastrophic_regex_neither_drops_nor_delays_other_users_events()
    {
        using var server = FeedServer();
        await CreateDealClassAsync(server);
        var (mallory, malloryId, malloryToken) = await server.UserAsync("mallory");
        var (alice, aliceId, aliceToken) = await server.UserAsync("alice");
        await using var malloryLive = await RealtimeClient.ConnectAsync(server, malloryToken);
        await using var aliceLive = await RealtimeClient.ConnectAsync(server, aliceToken);
        var subscriptionId = await malloryLive.Connection.InvokeAsync<string>("Subscribe", "Deal", Catastrophic);

        // A public deal: alice may read it too, so its change must reach her although mallory's filter fails on it.
        var slow = await CreateDealAsync(mallory, new JsonObject { ["title"] = SlowTitle });
        for (var i = 0; i < 40; i++)
            (await mallory.PutAsync($"classes/Deal/{slow}", new JsonObject { ["amount"] = i })).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal(slow, (await aliceLive.NextAsync("created", "the feed's create of mallory's public deal"))["objectId"]!.GetValue<string>());

        await CreateDealAsync(alice, new JsonObject { ["title"] = "Initech", ["ACL"] = Acl((aliceId, true)) });
        var created = await aliceLive.NextAsync("created", "alice's own new deal, after mallory's 40 updates");
        Assert.Equal("Initech", created["object"]!["title"]!.GetValue<string>());

        var error = await malloryLive.NextAsync("event", "the error event of the hub subscription whose filter timed out");
        Assert.Equal("error", error["op"]!.GetValue<string>());
        Assert.Equal(subscriptionId, error["subscriptionId"]!.GetValue<string>());
        Assert.False(await malloryLive.Connection.InvokeAsync<bool>("Unsubscribe", subscriptionId));
    }
}
