using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Crm.Functions.Tests.Realtime.RealtimeFixtures;

namespace Crm.Functions.Tests.Realtime;

/// <summary>
/// /realtime/subscriptions: subscriptions made over HTTP, kept in the store, delivered on target "event" by the local
/// pump, the change-feed endpoint and the delete pushes alike.
/// </summary>
public sealed class HttpSubscriptionTests
{
    private const string InPlay = """{"stage":{"$in":["proposal","negotiation"]}}""";

    private static async Task ExpectEventsAsync(RealtimeClient live, string subscriptionId, params (string Op, string? PreviousStage)[] expected)
    {
        foreach (var (op, previousStage) in expected)
        {
            var e = await live.NextAsync("event", $"subscription event {op}");
            Assert.Equal(op, e["op"]!.GetValue<string>());
            Assert.Equal(subscriptionId, e["subscriptionId"]!.GetValue<string>());
            Assert.Equal(previousStage, e["previousStage"]?.GetValue<string>());
        }
    }

    [Fact]
    public async Task a_subscription_made_over_http_reaches_the_hub_client_for_matching_readable_deals_only()
    {
        using var server = FeedServer();
        await CreateDealClassAsync(server);
        var (a, aId, aToken) = await server.UserAsync("alice");
        var (b, bId, _) = await server.UserAsync("bob");
        await using var live = await RealtimeClient.ConnectAsync(server, aToken);

        var (status, json) = await HttpSubscriptions.CallAsync(server, HttpMethod.Post, "", $$"""{"className":"Deal","where":{{InPlay}}}""", ("Authorization", "Bearer " + aToken));
        Assert.Equal(HttpStatusCode.Created, status);
        var subscriptionId = json!["subscriptionId"]!.GetValue<string>();
        Assert.Equal("Deal", json["className"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(InPlay), json["where"]));
        var expiresAt = DateTimeOffset.Parse(json["expiresAt"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(expiresAt - DateTimeOffset.UtcNow, TimeSpan.FromHours(23.9), TimeSpan.FromHours(24.1));

        // Unreadable for alice (bob's own deal), then not matching: neither is an event.
        await CreateDealAsync(b, new JsonObject { ["title"] = "Bob's", ["stage"] = "proposal", ["ACL"] = Acl((bId, true)) });
        var dealId = await CreateDealAsync(a, new JsonObject { ["title"] = "Umbrella", ["stage"] = "lead", ["ACL"] = Acl((aId, true)) });
        foreach (var stage in new[] { "proposal", "negotiation", "won" })
            (await a.PutAsync($"classes/Deal/{dealId}", new JsonObject { ["stage"] = stage })).EnsureStatus(HttpStatusCode.OK);
        var matching = await CreateDealAsync(a, new JsonObject { ["title"] = "Hooli", ["stage"] = "proposal", ["ACL"] = Acl((aId, true)) });
        (await a.DeleteAsync($"classes/Deal/{matching}")).EnsureStatus(HttpStatusCode.OK);
        await ExpectEventsAsync(live, subscriptionId, ("enter", "lead"), ("update", "proposal"), ("leave", null), ("create", null), ("delete", null));

        (status, _) = await HttpSubscriptions.CallAsync(server, HttpMethod.Delete, "/" + subscriptionId, null, ("X-Parse-Session-Token", aToken));
        Assert.Equal(HttpStatusCode.OK, status);
        await CreateDealAsync(a, new JsonObject { ["title"] = "Late", ["stage"] = "proposal", ["ACL"] = Acl((aId, true)) });
        Assert.Equal("created", (await live.NextAsync("the feed's create")).Target);
        await live.ExpectNothingAsync(300);
    }

    [Fact]
    public async Task subscriptions_are_private_to_their_user_and_refusals_are_parse_errors()
    {
        using var server = FeedServer(new Dictionary<string, string?> { ["Realtime:MaxSubscriptionsPerUser"] = "2" });
        await CreateDealClassAsync(server, new JsonObject
        {
            ["get"] = new JsonObject { ["*"] = true }, ["find"] = new JsonObject { ["*"] = true }, ["create"] = new JsonObject { ["*"] = true },
            ["update"] = new JsonObject { ["*"] = true }, ["delete"] = new JsonObject { ["*"] = true }, ["addField"] = new JsonObject { ["*"] = true },
            ["protectedFields"] = new JsonObject { ["*"] = new JsonArray("amount") },
        });
        var (_, _, aToken) = await server.UserAsync("alice");
        var (_, _, bToken) = await server.UserAsync("bob");
        var mine = await HttpSubscriptions.SubscribeAsync(server, aToken, "Deal", """{"stage":"won"}""");

        // Bob can neither see, renew nor delete alice's subscription: to him it does not exist.
        var (status, json) = await HttpSubscriptions.CallAsync(server, HttpMethod.Get, "", null, ("X-Parse-Session-Token", bToken));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Empty(json!["results"]!.AsArray());
        (status, json) = await HttpSubscriptions.CallAsync(server, HttpMethod.Delete, "/" + mine, null, ("X-Parse-Session-Token", bToken));
        Assert.Equal((HttpStatusCode.NotFound, 101), (status, json!["code"]!.GetValue<int>()));
        (status, json) = await HttpSubscriptions.CallAsync(server, HttpMethod.Post, "", $$"""{"className":"Deal","subscriptionId":"{{mine}}"}""", ("X-Parse-Session-Token", bToken));
        Assert.Equal((HttpStatusCode.NotFound, 101), (status, json!["code"]!.GetValue<int>()));
        (status, json) = await HttpSubscriptions.CallAsync(server, HttpMethod.Get, "", null, ("X-Parse-Session-Token", aToken));
        var listed = Assert.Single(json!["results"]!.AsArray());
        Assert.Equal(mine, listed!["subscriptionId"]!.GetValue<string>());
        Assert.Equal("won", listed["where"]!["stage"]!.GetValue<string>());

        // The hub method's refusals, with the same codes, as Parse error bodies.
        async Task Refused(string body, int code, HttpStatusCode? http = null)
        {
            var (s, j) = await HttpSubscriptions.CallAsync(server, HttpMethod.Post, "", body, ("X-Parse-Session-Token", aToken));
            Assert.True(j is JsonObject { Count: 2 } && j["code"]!.GetValue<int>() == code && j["error"] is JsonValue, $"{body}: {(int)s} {j?.ToJsonString()}");
            if (http is { } expected) Assert.Equal(expected, s);
        }
        await Refused("""{"className":"Deal","where":{"company":{"$inQuery":{"className":"Deal","where":{}}}}}""", 102);
        await Refused("""{"className":"Deal","where":{"amount":{"$gt":5}}}""", 119);
        await Refused("""{"className":"Deal","where":{"stage":{"$bogus":1}}}""", 107);
        await Refused("""{"className":"Deal","where":"stage"}""", 107);
        await Refused("""{"className":"Deal","where":""", 107, HttpStatusCode.BadRequest);
        await Refused("""{"className":"NoSuchClass"}""", 119);
        await Refused("""{"className":"bad name!"}""", 103);
        await Refused("""{"className":"_Subscription"}""", 103);
        await Refused("""{}""", 103);
        // At most MaxSubscriptionsPerUser live ones; renewing one is not a new one.
        await HttpSubscriptions.SubscribeAsync(server, aToken, "Deal", null);
        await Refused("""{"className":"Deal"}""", 102);
        (status, _) = await HttpSubscriptions.CallAsync(server, HttpMethod.Post, "", $$"""{"className":"Deal","subscriptionId":"{{mine}}"}""", ("X-Parse-Session-Token", aToken));
        Assert.Equal(HttpStatusCode.OK, status);

        // Callers are resolved exactly as /negotiate does.
        (status, json) = await HttpSubscriptions.CallAsync(server, HttpMethod.Get, "", null);
        Assert.Equal((HttpStatusCode.BadRequest, 209), (status, json!["code"]!.GetValue<int>()));
        (status, json) = await HttpSubscriptions.CallAsync(server, HttpMethod.Post, "", """{"className":"Deal"}""", ("X-Parse-Session-Token", "r:not-a-session"));
        Assert.Equal((HttpStatusCode.BadRequest, 209), (status, json!["code"]!.GetValue<int>()));
        (status, json) = await HttpSubscriptions.CallAsync(server, HttpMethod.Get, "", null, ("X-Parse-Master-Key", CrmServer.MasterKey));
        Assert.Equal((HttpStatusCode.BadRequest, 209), (status, json!["code"]!.GetValue<int>()));
        (status, json) = await HttpSubscriptions.CallAsync(server, HttpMethod.Get, "", null, ("X-Parse-Session-Token", aToken), ("X-Parse-Application-Id", "other"));
        Assert.Equal((HttpStatusCode.Forbidden, 119), (status, json!["code"]!.GetValue<int>()));

        // Alice deletes her own, once; the store's class stays out of every client door, master's included.
        (status, _) = await HttpSubscriptions.CallAsync(server, HttpMethod.Delete, "/" + mine, null, ("X-Parse-Session-Token", aToken));
        Assert.Equal(HttpStatusCode.OK, status);
        (status, json) = await HttpSubscriptions.CallAsync(server, HttpMethod.Delete, "/" + mine, null, ("X-Parse-Session-Token", aToken));
        Assert.Equal((HttpStatusCode.NotFound, 101), (status, json!["code"]!.GetValue<int>()));
        using var master = server.Client().AsMaster();
        Assert.NotEqual(HttpStatusCode.OK, (await master.GetAsync("classes/_Subscription")).Status);
        Assert.DoesNotContain((await master.GetAsync("schemas")).Results, c => c!["className"]!.GetValue<string>() == "_Subscription");
    }

    [Fact]
    public async Task subscriptions_expire_after_a_day_unless_renewed()
    {
        var time = new AdjustableTime();
        using var server = FeedServer(services: services => services.AddSingleton<TimeProvider>(time));
        await CreateDealClassAsync(server);
        var (a, aId, aToken) = await server.UserAsync("alice");
        var renewed = await HttpSubscriptions.SubscribeAsync(server, aToken, "Deal", InPlay);
        var lapsed = await HttpSubscriptions.SubscribeAsync(server, aToken, "Deal", InPlay);

        time.Offset = TimeSpan.FromHours(23);
        var (status, json) = await HttpSubscriptions.CallAsync(server, HttpMethod.Post, "", $$"""{"className":"Deal","where":{{InPlay}},"subscriptionId":"{{renewed}}"}""", ("X-Parse-Session-Token", aToken));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(renewed, json!["subscriptionId"]!.GetValue<string>());

        time.Offset = TimeSpan.FromHours(25);
        (_, json) = await HttpSubscriptions.CallAsync(server, HttpMethod.Get, "", null, ("X-Parse-Session-Token", aToken));
        Assert.Equal(new[] { renewed }, json!["results"]!.AsArray().Select(s => s!["subscriptionId"]!.GetValue<string>()));
        (status, json) = await HttpSubscriptions.CallAsync(server, HttpMethod.Post, "", $$"""{"className":"Deal","subscriptionId":"{{lapsed}}"}""", ("X-Parse-Session-Token", aToken));
        Assert.Equal((HttpStatusCode.NotFound, 101), (status, json!["code"]!.GetValue<int>()));

        await using var live = await RealtimeClient.ConnectAsync(server, aToken);
        await CreateDealAsync(a, new JsonObject { ["title"] = "Initech", ["stage"] = "proposal", ["ACL"] = Acl((aId, true)) });
        // The feed's "created" comes first and is skipped; after the renewed subscription's event, nothing.
        await ExpectEventsAsync(live, renewed, ("create", null));
        await live.ExpectNothingAsync(300);
    }
}
