using System.Net;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.LiveQuery;

/// <summary>
/// LiveQuery makes the same read decisions as REST: ACL with roles, CLP find, pointer permissions,
/// requiresAuthentication, protected fields (stripped from events, refused in where — $or included — keys and watch);
/// ended sessions end their subscriptions.
/// </summary>
public sealed class LiveQuerySecurityTests(LiveQueryFixture fixture) : IClassFixture<LiveQueryFixture>
{
    private CrmServer Server => fixture.Server;

    private static string Op(JsonObject frame) => frame["op"]!.GetValue<string>();

    private static void AssertError(JsonObject frame, int code, int? requestId)
    {
        Assert.True(Op(frame) == "error" && frame["code"]?.GetValue<int>() == code && frame["requestId"]?.GetValue<int?>() == requestId,
            $"expected error {code} for {requestId}, got {frame.ToJsonString()}");
        Assert.False(frame["reconnect"]!.GetValue<bool>());
    }

    /// <summary>A public object written last: every event before it has been delivered once its own arrives.</summary>
    private static async Task<string> SentinelAsync(ParseClient master, string className) =>
        await master.CreateAsync(className, new JsonObject { ["name"] = "sentinel" });

    private static List<string> Ids(IEnumerable<JsonObject> frames) => [.. frames.Select(f => f["object"]!["objectId"]!.GetValue<string>())];

    [Fact]
    public async Task events_reach_only_users_the_acl_lets_read_directly_or_through_roles_and_acl_changes_enter_and_leave()
    {
        var className = await LiveQueryFixture.ClassAsync(Server);
        var (_, memberId, memberToken) = await Server.UserAsync("lqmember");
        var (_, _, otherToken) = await Server.UserAsync("lqother");
        var role = Wire.Unique("Team");
        await Server.CreateRoleAsync(role, memberId);
        await using var member = await LiveQuerySocket.ConnectAsync(Server, memberToken);
        await using var other = await LiveQuerySocket.ConnectAsync(Server, otherToken);
        await using var anonymous = await LiveQuerySocket.ConnectAsync(Server);
        foreach (var socket in new[] { member, other, anonymous }) await socket.SubscribeAsync(1, className);

        using var master = Server.Client().AsMaster();
        var teamOnly = await master.CreateAsync(className, new JsonObject { ["name"] = "team", ["ACL"] = LiveQueryFixture.Acl(("role:" + role, false)) });
        var memberOnly = await master.CreateAsync(className, new JsonObject { ["name"] = "member", ["ACL"] = LiveQueryFixture.Acl((memberId, true)) });
        // Shared with everybody, then taken back: enter for those who gain it, leave for those who lose it.
        (await master.PutAsync($"classes/{className}/{memberOnly}", new JsonObject { ["ACL"] = LiveQueryFixture.Acl(("*", false)) })).EnsureStatus(HttpStatusCode.OK);
        (await master.PutAsync($"classes/{className}/{memberOnly}", new JsonObject { ["ACL"] = LiveQueryFixture.Acl((memberId, true)), ["name"] = "hidden" })).EnsureStatus(HttpStatusCode.OK);
        var sentinel = await SentinelAsync(master, className);

        var memberFrames = await member.UntilAsync("create", sentinel);
        Assert.Equal(["create", "create", "update", "update", "create"], memberFrames.Select(Op));
        Assert.Equal([teamOnly, memberOnly, memberOnly, memberOnly, sentinel], Ids(memberFrames));
        foreach (var socket in new[] { other, anonymous })
        {
            var frames = await socket.UntilAsync("create", sentinel);
            Assert.Equal(["enter", "leave", "create"], frames.Select(Op));
            Assert.Equal([memberOnly, memberOnly, sentinel], Ids(frames));
            // enter: nothing of the state they could not read; leave: only the last state they could.
            Assert.Null(frames[0]["original"]);
            Assert.Equal("member", frames[1]["object"]!["name"]!.GetValue<string>());
            Assert.DoesNotContain("hidden", frames[1].ToJsonString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task clp_find_pointer_permissions_and_requires_authentication_decide_like_rest()
    {
        var (_, aliceId, aliceToken) = await Server.UserAsync("lqalice");
        var (_, _, bobToken) = await Server.UserAsync("lqbob");
        var none = new JsonObject();
        var closed = await LiveQueryFixture.ClassAsync(Server, new JsonObject { ["find"] = new JsonObject(), ["get"] = new JsonObject() });
        var pointer = await LiveQueryFixture.ClassAsync(Server, new JsonObject { ["find"] = none.DeepClone(), ["get"] = none.DeepClone(), ["readUserFields"] = new JsonArray("owner") });
        var signedIn = await LiveQueryFixture.ClassAsync(Server, new JsonObject { ["find"] = new JsonObject { ["requiresAuthentication"] = true } });

        await using var anonymous = await LiveQuerySocket.ConnectAsync(Server);
        await anonymous.SendAsync(LiveQuerySocket.Subscribe(1, closed));
        AssertError(await anonymous.NextAsync(), 119, 1);
        await anonymous.SendAsync(LiveQuerySocket.Subscribe(2, signedIn));
        AssertError(await anonymous.NextAsync(), 101, 2);
        await anonymous.SendAsync(LiveQuerySocket.Subscribe(3, "NoSuchClass"));
        AssertError(await anonymous.NextAsync(), 119, 3);
        await anonymous.SendAsync(LiveQuerySocket.Subscribe(4, "_User"));
        Assert.Equal("subscribed", Op(await anonymous.NextAsync()));

        await using var alice = await LiveQuerySocket.ConnectAsync(Server, aliceToken);
        await alice.SubscribeAsync(1, pointer);
        await alice.SubscribeAsync(2, signedIn);
        await using var bob = await LiveQuerySocket.ConnectAsync(Server, bobToken);
        await bob.SubscribeAsync(1, pointer);

        using var master = Server.Client().AsMaster();
        var hers = await master.CreateAsync(pointer, new JsonObject { ["name"] = "hers", ["owner"] = Wire.PointerTo("_User", aliceId) });
        var nobodys = await master.CreateAsync(pointer, new JsonObject { ["name"] = "nobody's" });
        var last = await master.CreateAsync(pointer, new JsonObject { ["name"] = "last", ["owner"] = Wire.PointerTo("_User", aliceId) });
        Assert.Equal([hers, last], Ids(await alice.UntilAsync("create", last)));
        // Bob is named by none of them: the next thing he receives is the event of a class he may read.
        var open = await master.CreateAsync(signedIn, new JsonObject { ["name"] = "for users" });
        Assert.Equal([open], Ids(await alice.UntilAsync("create", open)));
        await bob.SubscribeAsync(2, signedIn);
        var open2 = await master.CreateAsync(signedIn, new JsonObject { ["name"] = "for users 2" });
        Assert.Equal([open2], Ids(await bob.UntilAsync("create", open2)));
        Assert.DoesNotContain(nobodys, Ids(await alice.UntilAsync("create", open2)));
    }

    [Fact]
    public async Task protected_fields_are_stripped_and_refused_in_where_or_keys_and_watch()
    {
        var clp = new JsonObject
        {
            ["find"] = new JsonObject { ["*"] = true }, ["get"] = new JsonObject { ["*"] = true },
            ["protectedFields"] = new JsonObject { ["*"] = new JsonArray("secret"), ["role:Insiders"] = new JsonArray() },
        };
        var className = await LiveQueryFixture.ClassAsync(Server, clp, "name", "secret");
        var (_, insiderId, insiderToken) = await Server.UserAsync("lqinsider");
        var (_, _, outsiderToken) = await Server.UserAsync("lqoutsider");
        await Server.CreateRoleAsync("Insiders", insiderId);

        await using var outsider = await LiveQuerySocket.ConnectAsync(Server, outsiderToken);
        var secretWhere = new JsonObject { ["secret"] = "x" };
        var refused = new[]
        {
            LiveQuerySocket.Subscribe(1, className, secretWhere.DeepClone().AsObject()),
            LiveQuerySocket.Subscribe(2, className, new JsonObject { ["$or"] = new JsonArray(new JsonObject { ["name"] = "a" }, secretWhere.DeepClone()) }),
            LiveQuerySocket.Subscribe(3, className, new JsonObject { ["$and"] = new JsonArray(new JsonObject { ["secret"] = new JsonObject { ["$exists"] = true } }) }),
            LiveQuerySocket.Subscribe(4, className, new JsonObject { ["secret"] = new JsonObject { ["$regex"] = "^a" } }),
            LiveQuerySocket.Subscribe(5, className, keys: ["name", "secret"]),
            LiveQuerySocket.Subscribe(6, className, watch: ["secret"]),
        };
        foreach (var frame in refused)
        {
            await outsider.SendAsync(frame);
            AssertError(await outsider.NextAsync(), 119, frame["requestId"]!.GetValue<int>());
        }
        // The same watch is no oracle: subscribed on name, a change of the secret alone brings the outsider nothing.
        await outsider.SubscribeAsync(7, className, watch: ["name"]);
        await using var insider = await LiveQuerySocket.ConnectAsync(Server, insiderToken);
        await insider.SubscribeAsync(1, className, secretWhere.DeepClone().AsObject());

        using var master = Server.Client().AsMaster();
        var id = await master.CreateAsync(className, new JsonObject { ["name"] = "n", ["secret"] = "x" });
        (await master.PutAsync($"classes/{className}/{id}", new JsonObject { ["secret"] = "y" })).EnsureStatus(HttpStatusCode.OK);
        (await master.PutAsync($"classes/{className}/{id}", new JsonObject { ["name"] = "n2" })).EnsureStatus(HttpStatusCode.OK);

        var outsiderFrames = await outsider.UntilAsync("update", id);
        Assert.Equal(["create", "update"], outsiderFrames.Select(Op));
        Assert.Equal("n2", outsiderFrames[1]["object"]!["name"]!.GetValue<string>());
        Assert.All(outsiderFrames, f => Assert.DoesNotContain("secret", f.ToJsonString(), StringComparison.Ordinal));
        var insiderFrames = await insider.UntilAsync("leave", id);
        Assert.Equal(["create", "leave"], insiderFrames.Select(Op));
        Assert.Equal("x", insiderFrames[0]["object"]!["secret"]!.GetValue<string>());
    }

    [Fact]
    public async Task logout_and_password_change_end_the_sessions_sockets_with_209_and_a_subscription_token_ends_only_its_subscription()
    {
        var className = await LiveQueryFixture.ClassAsync(Server);
        var (client, _, token) = await Server.UserAsync("lqlogout");
        await using (var socket = await LiveQuerySocket.ConnectAsync(Server, token))
        {
            await socket.SubscribeAsync(1, className);
            (await client.PostAsync("logout", null)).EnsureStatus(HttpStatusCode.OK);
            var frames = await socket.ClosedAsync();
            AssertError(Assert.Single(frames), 209, null);
            Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
        }

        var username = Wire.Unique("lqpw");
        var user = Server.Client();
        var (userId, userToken) = await user.SignUpAsync(username);
        // A second session of the same user: the password change keeps the session that made it and ends the others.
        using var second = Server.Client();
        var otherToken = (await second.LogInAsync(username, "correct horse battery")).EnsureStatus(HttpStatusCode.OK).Json!["sessionToken"]!.GetValue<string>();
        var (_, _, friendToken) = await Server.UserAsync("lqfriend");
        await using var own = await LiveQuerySocket.ConnectAsync(Server, otherToken);
        await own.SubscribeAsync(1, className);
        // Connected as a friend, one subscription with the user's other session.
        await using var shared = await LiveQuerySocket.ConnectAsync(Server, friendToken);
        await shared.SubscribeAsync(1, className, sessionToken: otherToken);
        await shared.SubscribeAsync(2, className);

        (await user.WithSession(userToken).PutAsync($"users/{userId}", new JsonObject { ["password"] = "a new password 1" })).EnsureStatus(HttpStatusCode.OK);
        AssertError(Assert.Single(await own.ClosedAsync()), 209, null);
        AssertError(await shared.NextAsync(), 209, 1);
        // The friend's own subscription goes on.
        using var master = Server.Client().AsMaster();
        var id = await master.CreateAsync(className, new JsonObject { ["name"] = "after" });
        var next = await shared.NextAsync();
        Assert.Equal("create", Op(next));
        Assert.Equal(2, next["requestId"]!.GetValue<int>());
        Assert.Equal(id, next["object"]!["objectId"]!.GetValue<string>());

        // A session deleted with the master key ends too (found at once, or by the periodic check).
        var (_, _, thirdToken) = await Server.UserAsync("lqdeleted");
        await using var third = await LiveQuerySocket.ConnectAsync(Server, thirdToken);
        var sessionId = (await master.QueryAsync("_Session", new JsonObject { ["sessionToken"] = thirdToken })).Results.Single()!["objectId"]!.GetValue<string>();
        (await master.DeleteAsync($"sessions/{sessionId}")).EnsureStatus(HttpStatusCode.OK);
        AssertError(Assert.Single(await third.ClosedAsync()), 209, null);
    }

    [Fact]
    public async Task only_the_classes_listed_in_the_setting_may_be_subscribed_and_sockets_per_address_are_capped()
    {
        using var server = new CrmServer(TestSettings.Fast(("LiveQuery:ClassNames:0", "LqOpen"), ("LiveQuery:MaxConnectionsPerIp", "2")));
        using var master = server.Client().AsMaster();
        foreach (var name in new[] { "LqOpen", "LqShut" })
            (await master.PostAsync($"schemas/{name}", new JsonObject { ["className"] = name })).EnsureStatus(HttpStatusCode.OK);
        await using var socket = await LiveQuerySocket.ConnectAsync(server);
        await socket.SubscribeAsync(1, "LqOpen");
        await socket.SendAsync(LiveQuerySocket.Subscribe(2, "LqShut"));
        AssertError(await socket.NextAsync(), 119, 2);

        await using var second = await LiveQuerySocket.ConnectAsync(server);
        await using var third = await LiveQuerySocket.OpenAsync(server);
        var frames = await third.ClosedAsync();
        var error = Assert.Single(frames);
        Assert.Equal(155, error["code"]!.GetValue<int>());
        Assert.Contains("LiveQuery:MaxConnectionsPerIp", error["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
