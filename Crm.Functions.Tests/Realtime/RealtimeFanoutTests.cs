using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using static Crm.Functions.Tests.Realtime.RealtimeFixtures;

namespace Crm.Functions.Tests.Realtime;

/// <summary>Dashboards over the real hub: who gets which event, in which order, with which payload.</summary>
public sealed class RealtimeFanoutTests
{
    [Fact]
    public async Task owner_and_role_reader_get_create_move_delete_in_order_and_an_outsider_gets_nothing()
    {
        using var server = FeedServer();
        await CreateDealClassAsync(server);
        var (a, aId, aToken) = await server.UserAsync("alice");
        var (_, _, bToken) = await server.UserAsync("bob");
        var (_, cId, cToken) = await server.UserAsync("carol");
        await server.CreateRoleAsync("Sales", cId);
        await using var aLive = await RealtimeClient.ConnectAsync(server, aToken);
        await using var bLive = await RealtimeClient.ConnectAsync(server, bToken);
        await using var cLive = await RealtimeClient.ConnectAsync(server, cToken);

        var dealId = await CreateDealAsync(a, new JsonObject
        {
            ["title"] = "Acme renewal", ["stage"] = "lead", ["amount"] = 12000, ["ACL"] = Acl((aId, true), ("role:Sales", false)),
        });
        (await a.PutAsync($"classes/Deal/{dealId}", new JsonObject { ["stage"] = "proposal" })).EnsureStatus(HttpStatusCode.OK);
        (await a.DeleteAsync($"classes/Deal/{dealId}")).EnsureStatus(HttpStatusCode.OK);

        foreach (var live in new[] { aLive, cLive })
        {
            var (target, created) = await live.NextAsync("the create");
            Assert.Equal("created", target);
            Assert.Equal("create", created["op"]!.GetValue<string>());
            Assert.Equal("Deal", created["className"]!.GetValue<string>());
            Assert.Equal(dealId, created["object"]!["objectId"]!.GetValue<string>());
            Assert.Equal("Acme renewal", created["object"]!["title"]!.GetValue<string>());
            Assert.Equal(12000, created["object"]!["amount"]!.GetValue<double>());

            (target, var moved) = await live.NextAsync("the stage change");
            Assert.Equal("updated", target);
            Assert.Equal("proposal", moved["object"]!["stage"]!.GetValue<string>());
            Assert.Equal("lead", moved["previousStage"]!.GetValue<string>());
            Assert.Equal("lead", moved["original"]!["stage"]!.GetValue<string>());

            (target, var deleted) = await live.NextAsync("the delete");
            Assert.Equal("deleted", target);
            Assert.Equal("delete", deleted["op"]!.GetValue<string>());
            Assert.Equal(dealId, deleted["objectId"]!.GetValue<string>());
        }
        await bLive.ExpectNothingAsync();
    }

    [Fact]
    public async Task reassigning_a_deal_reaches_the_new_owner_and_removes_it_from_the_old_one()
    {
        using var server = FeedServer();
        await CreateDealClassAsync(server);
        var (a, aId, aToken) = await server.UserAsync("alice");
        var (_, bId, bToken) = await server.UserAsync("bob");
        await using var aLive = await RealtimeClient.ConnectAsync(server, aToken);
        await using var bLive = await RealtimeClient.ConnectAsync(server, bToken);

        var dealId = await CreateDealAsync(a, new JsonObject
        {
            ["title"] = "Globex", ["stage"] = "qualified", ["assignedTo"] = Wire.PointerTo("_User", aId), ["ACL"] = Acl((aId, true)),
        });
        Assert.Equal("created", (await aLive.NextAsync("A's create")).Target);
        await bLive.ExpectNothingAsync(300);

        (await a.PutAsync($"classes/Deal/{dealId}", new JsonObject
        {
            ["assignedTo"] = Wire.PointerTo("_User", bId), ["stage"] = "proposal", ["ACL"] = Acl((bId, true)),
        })).EnsureStatus(HttpStatusCode.OK);

        var (bTarget, entered) = await bLive.NextAsync("B's deal arriving");
        Assert.Equal("created", bTarget);
        Assert.Equal("enter", entered["op"]!.GetValue<string>());
        Assert.Equal(bId, entered["object"]!["assignedTo"]!["objectId"]!.GetValue<string>());
        // B could not read the deal before: neither its old state nor its old stage may be revealed.
        Assert.Null(entered["original"]);
        Assert.Null(entered["previousStage"]);

        var (aTarget, left) = await aLive.NextAsync("A's removal");
        Assert.Equal("deleted", aTarget);
        Assert.Equal("leave", left["op"]!.GetValue<string>());
        // A sees the last state it could read, not the new one.
        Assert.Equal(aId, left["object"]!["assignedTo"]!["objectId"]!.GetValue<string>());
        Assert.Equal("qualified", left["object"]!["stage"]!.GetValue<string>());

        using var master = server.Client().AsMaster();
        (await master.PutAsync($"classes/Deal/{dealId}", new JsonObject { ["title"] = "Globex 2" })).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal("updated", (await bLive.NextAsync("B's update")).Target);
        await aLive.ExpectNothingAsync();
    }

    [Fact]
    public async Task pointer_permissions_and_protected_fields_apply_to_events_as_to_rest()
    {
        using var server = FeedServer();
        var clp = new JsonObject
        {
            ["get"] = new JsonObject(), ["find"] = new JsonObject(), ["count"] = new JsonObject(),
            ["create"] = new JsonObject { ["requiresAuthentication"] = true },
            ["update"] = new JsonObject { ["requiresAuthentication"] = true }, ["delete"] = new JsonObject { ["requiresAuthentication"] = true },
            ["addField"] = new JsonObject(),
            ["readUserFields"] = new JsonArray("assignedTo"),
            ["protectedFields"] = new JsonObject { ["*"] = new JsonArray("amount") },
        };
        await CreateDealClassAsync(server, clp);
        var (a, aId, aToken) = await server.UserAsync("alice");
        var (_, _, bToken) = await server.UserAsync("bob");
        await using var aLive = await RealtimeClient.ConnectAsync(server, aToken);
        await using var bLive = await RealtimeClient.ConnectAsync(server, bToken);

        // Public ACL, but the CLP lets only the assigned user read: B must get nothing although the ACL says "*".
        await CreateDealAsync(a, new JsonObject { ["title"] = "Initech", ["amount"] = 5, ["assignedTo"] = Wire.PointerTo("_User", aId), ["ACL"] = Acl(("*", true)) });
        var (_, created) = await aLive.NextAsync("the assigned user's create");
        Assert.Equal("Initech", created["object"]!["title"]!.GetValue<string>());
        Assert.Null(created["object"]!["amount"]); // protected for everyone, as in a REST find
        var rest = await a.QueryAsync("Deal");
        Assert.Null(rest.Results[0]!["amount"]);
        await bLive.ExpectNothingAsync();
    }

    [Fact]
    public async Task role_membership_granted_later_starts_the_feed_without_reconnecting()
    {
        using var server = FeedServer();
        await CreateDealClassAsync(server);
        var (a, aId, _) = await server.UserAsync("alice");
        var (_, cId, cToken) = await server.UserAsync("carol");
        await using var cLive = await RealtimeClient.ConnectAsync(server, cToken);
        await CreateDealAsync(a, new JsonObject { ["title"] = "Before", ["ACL"] = Acl((aId, true), ("role:Managers", false)) });
        await cLive.ExpectNothingAsync(300);

        await server.CreateRoleAsync("Managers", cId);
        await CreateDealAsync(a, new JsonObject { ["title"] = "After", ["ACL"] = Acl((aId, true), ("role:Managers", false)) });
        var (_, created) = await cLive.NextAsync("the deal readable through the new role");
        Assert.Equal("After", created["object"]!["title"]!.GetValue<string>());
    }
}
