using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Crm.Functions.Tests.Infrastructure;
using static Crm.Functions.Tests.Realtime.RealtimeFixtures;

namespace Crm.Functions.Tests.Realtime;

/// <summary>Subscribe(className, where): LiveQuery's create/enter/update/leave/delete table over a filter.</summary>
public sealed class SubscriptionTests
{
    [Fact]
    public async Task a_stage_filter_sends_enter_update_and_leave_as_deals_move_through_it()
    {
        using var server = FeedServer();
        await CreateDealClassAsync(server);
        var (a, aId, aToken) = await server.UserAsync("alice");
        await using var live = await RealtimeClient.ConnectAsync(server, aToken);
        var subscriptionId = await live.Connection.InvokeAsync<string>("Subscribe", "Deal", """{"stage":{"$in":["proposal","negotiation"]}}""");
        Assert.False(string.IsNullOrEmpty(subscriptionId));

        var dealId = await CreateDealAsync(a, new JsonObject { ["title"] = "Umbrella", ["stage"] = "lead", ["ACL"] = Acl((aId, true)) });
        foreach (var stage in new[] { "proposal", "negotiation", "won" })
            (await a.PutAsync($"classes/Deal/{dealId}", new JsonObject { ["stage"] = stage })).EnsureStatus(HttpStatusCode.OK);
        var matching = await CreateDealAsync(a, new JsonObject { ["title"] = "Hooli", ["stage"] = "proposal", ["ACL"] = Acl((aId, true)) });
        (await a.DeleteAsync($"classes/Deal/{matching}")).EnsureStatus(HttpStatusCode.OK);

        var expected = new[] { ("enter", "lead"), ("update", "proposal"), ("leave", (string?)null), ("create", null), ("delete", null) };
        foreach (var (op, previousStage) in expected)
        {
            var e = await live.NextAsync("event", $"subscription event {op}");
            Assert.Equal(op, e["op"]!.GetValue<string>());
            Assert.Equal(subscriptionId, e["subscriptionId"]!.GetValue<string>());
            Assert.Equal(previousStage, e["previousStage"]?.GetValue<string>());
        }

        Assert.True(await live.Connection.InvokeAsync<bool>("Unsubscribe", subscriptionId));
        await CreateDealAsync(a, new JsonObject { ["title"] = "Late", ["stage"] = "proposal", ["ACL"] = Acl((aId, true)) });
        Assert.Equal("created", (await live.NextAsync("the feed's create")).Target);
        await live.ExpectNothingAsync(300);
    }

    [Fact]
    public async Task filters_that_need_the_store_touch_protected_fields_or_are_malformed_are_refused_with_parse_codes()
    {
        using var server = FeedServer();
        await CreateDealClassAsync(server, new JsonObject
        {
            ["get"] = new JsonObject { ["*"] = true }, ["find"] = new JsonObject { ["*"] = true }, ["create"] = new JsonObject { ["*"] = true },
            ["update"] = new JsonObject { ["*"] = true }, ["delete"] = new JsonObject { ["*"] = true }, ["addField"] = new JsonObject { ["*"] = true },
            ["protectedFields"] = new JsonObject { ["*"] = new JsonArray("amount") },
        });
        var (_, _, token) = await server.UserAsync("alice");
        await using var live = await RealtimeClient.ConnectAsync(server, token);

        async Task Refused(string className, string where, int code)
        {
            var e = await Assert.ThrowsAsync<HubException>(() => live.Connection.InvokeAsync<string>("Subscribe", className, where));
            Assert.Contains($"\"code\":{code}", e.Message, StringComparison.Ordinal);
        }
        await Refused("Deal", """{"company":{"$inQuery":{"className":"Deal","where":{}}}}""", 102);
        await Refused("Deal", """{"amount":{"$gt":5}}""", 119);
        await Refused("Deal", """{"stage":""", 107);
        await Refused("Deal", """{"stage":{"$bogus":1}}""", 107);
        await Refused("NoSuchClass", "{}", 119);
        await Refused("bad name!", "{}", 103);
        // The connection survives refusals.
        Assert.False(string.IsNullOrEmpty(await live.Connection.InvokeAsync<string>("Subscribe", "Deal", """{"stage":"won"}""")));
    }
}
