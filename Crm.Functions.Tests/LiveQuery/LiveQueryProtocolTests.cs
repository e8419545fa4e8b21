using System.Net;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.LiveQuery;

/// <summary>
/// The LiveQuery protocol frame by frame over a raw WebSocket at the mount path: the shape of every server op, and an
/// error frame (never a dropped socket) for every malformed or refused client frame.
/// </summary>
public sealed class LiveQueryProtocolTests(LiveQueryFixture fixture) : IClassFixture<LiveQueryFixture>
{
    private CrmServer Server => fixture.Server;

    private static string Op(JsonObject frame) => frame["op"]!.GetValue<string>();

    private static void AssertError(JsonObject frame, int code, int? requestId = null, string? contains = null)
    {
        Assert.True(Op(frame) == "error" && frame["code"]?.GetValue<int>() == code, $"expected error {code}, got {frame.ToJsonString()}");
        Assert.NotNull(frame["error"]?.GetValue<string>());
        Assert.NotNull(frame["reconnect"]?.GetValue<bool>());
        if (requestId is not null) Assert.Equal(requestId, frame["requestId"]?.GetValue<int>());
        if (contains is not null) Assert.Contains(contains, frame["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    /// <summary>Sends a frame and checks that the answer is this error and that the socket still works afterwards.</summary>
    private static async Task ExpectErrorAsync(LiveQuerySocket socket, string frame, int code, int? requestId = null, string? contains = null)
    {
        await socket.SendTextAsync(frame);
        AssertError(await socket.NextAsync(), code, requestId, contains);
    }

    [Fact]
    public async Task connect_answers_connected_with_a_client_id_and_the_installation_id()
    {
        await using var socket = await LiveQuerySocket.OpenAsync(Server);
        await socket.SendAsync(new JsonObject { ["op"] = "connect", ["applicationId"] = CrmServer.AppId, ["installationId"] = "inst-1" });
        var connected = await socket.NextAsync();
        Assert.Equal("connected", Op(connected));
        Assert.True(Guid.TryParse(connected["clientId"]!.GetValue<string>(), out _));
        Assert.Equal("inst-1", connected["installationId"]!.GetValue<string>());
    }

    [Fact]
    public async Task the_socket_is_also_served_at_the_mount_path_with_a_trailing_slash_and_plain_http_stays_rest()
    {
        await using (var socket = await LiveQuerySocket.OpenAsync(Server, "/parse/"))
        {
            await socket.SendAsync(new JsonObject { ["op"] = "connect", ["applicationId"] = CrmServer.AppId });
            Assert.Equal("connected", Op(await socket.NextAsync()));
        }
        // The same path without an upgrade is the REST API's: its usual Parse error for a request without application id.
        using var http = new HttpClient();
        var response = await http.GetAsync(Server.ParseUrl + "/classes/Anything");
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("unauthorized", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        // Other paths do not take LiveQuery upgrades.
        await Assert.ThrowsAsync<WebSocketException>(async () => await LiveQuerySocket.OpenAsync(Server, "/parse/classes/Deal"));
    }

    [Fact]
    public async Task connect_with_a_wrong_application_id_is_error_4_and_an_unknown_session_token_209()
    {
        await using var socket = await LiveQuerySocket.OpenAsync(Server);
        await ExpectErrorAsync(socket, """{"op":"connect","applicationId":"other"}""", 4, contains: "Key in request is not valid");
        await ExpectErrorAsync(socket, """{"op":"connect","applicationId":"crm","sessionToken":"r:nosuchtoken"}""", 209);
        // Still usable: a good connect after the refusals.
        await socket.SendTextAsync("""{"op":"connect","applicationId":"crm"}""");
        Assert.Equal("connected", Op(await socket.NextAsync()));
        // A second connect on the same socket starts over (as parse-server does): a new client id, no subscriptions.
        var className = await LiveQueryFixture.ClassAsync(Server);
        await socket.SubscribeAsync(1, className);
        await socket.SendTextAsync("""{"op":"connect","applicationId":"crm"}""");
        Assert.Equal("connected", Op(await socket.NextAsync()));
        await ExpectErrorAsync(socket, """{"op":"unsubscribe","requestId":1}""", 2, 1);
    }

    [Fact]
    public async Task malformed_frames_get_error_frames_and_the_socket_stays_open()
    {
        await using var socket = await LiveQuerySocket.OpenAsync(Server);
        await ExpectErrorAsync(socket, "not json", 1);
        await ExpectErrorAsync(socket, "[1,2]", 1);
        await ExpectErrorAsync(socket, """{"applicationId":"crm"}""", 1, contains: "op");
        await ExpectErrorAsync(socket, """{"op":42}""", 1);
        await ExpectErrorAsync(socket, """{"op":"fly"}""", 1, contains: "No enum match");
        await ExpectErrorAsync(socket, """{"op":"connect"}""", 1, contains: "applicationId");
        await ExpectErrorAsync(socket, """{"op":"connect","applicationId":"crm","extra":1}""", 1, contains: "Additional properties not allowed");
        await ExpectErrorAsync(socket, """{"op":"connect","applicationId":7}""", 1);
        await ExpectErrorAsync(socket, """{"op":"connect","op":"connect","applicationId":"crm"}""", 1);
        await socket.SendBinaryAsync([1, 2, 3]);
        AssertError(await socket.NextAsync(), 1);
        await socket.SendBinaryAsync([0xff, 0xfe]);
        AssertError(await socket.NextAsync(), 1);

        // Before connect, subscriptions are refused with 2.
        await ExpectErrorAsync(socket, LiveQuerySocket.Subscribe(1, "Anything").ToJsonString(), 2, 1);
        await ExpectErrorAsync(socket, """{"op":"unsubscribe","requestId":1}""", 2, 1);
        await ExpectErrorAsync(socket, """{"op":"query","requestId":1}""", 2, 1);

        await socket.SendTextAsync("""{"op":"connect","applicationId":"crm"}""");
        Assert.Equal("connected", Op(await socket.NextAsync()));
        var className = await LiveQueryFixture.ClassAsync(Server);
        await ExpectErrorAsync(socket, """{"op":"subscribe","query":{"className":"X","where":{}}}""", 1, contains: "requestId");
        await ExpectErrorAsync(socket, """{"op":"subscribe","requestId":"1","query":{"className":"X","where":{}}}""", 1);
        await ExpectErrorAsync(socket, """{"op":"subscribe","requestId":1.5,"query":{"className":"X","where":{}}}""", 1);
        await ExpectErrorAsync(socket, """{"op":"subscribe","requestId":1}""", 1, 1, "query");
        await ExpectErrorAsync(socket, """{"op":"subscribe","requestId":1,"query":{"where":{}}}""", 1, 1, "className");
        await ExpectErrorAsync(socket, $$$"""{"op":"subscribe","requestId":1,"query":{"className":"{{{className}}}","where":[]}}""", 1, 1);
        await ExpectErrorAsync(socket, $$$"""{"op":"subscribe","requestId":1,"query":{"className":"{{{className}}}","where":{},"limit":1}}""", 1, 1, "Additional properties not allowed");
        await ExpectErrorAsync(socket, $$$"""{"op":"subscribe","requestId":1,"query":{"className":"{{{className}}}","where":{}},"extra":true}""", 1, 1, "Additional properties not allowed");
        await ExpectErrorAsync(socket, $$$"""{"op":"subscribe","requestId":1,"query":{"className":"{{{className}}}","where":{},"keys":[]}}""", 1, 1);
        await ExpectErrorAsync(socket, $$$"""{"op":"subscribe","requestId":1,"query":{"className":"{{{className}}}","where":{},"keys":["name","name"]}}""", 1, 1);
        await ExpectErrorAsync(socket, $$$"""{"op":"subscribe","requestId":1,"query":{"className":"{{{className}}}","where":{},"watch":[3]}}""", 1, 1);
        await ExpectErrorAsync(socket, $$$"""{"op":"subscribe","requestId":1,"query":{"className":"{{{className}}}","where":{},"keys":["name"],"fields":["name"]}}""", 1, 1);
        await ExpectErrorAsync(socket, $$$"""{"op":"subscribe","requestId":1,"query":{"className":"{{{className}}}","where":{}},"sessionToken":5}""", 1, 1);
        await ExpectErrorAsync(socket, LiveQuerySocket.Subscribe(1, className, new JsonObject { ["name"] = new JsonObject { ["$bogus"] = 1 } }).ToJsonString(), 107, 1);
        await ExpectErrorAsync(socket, """{"op":"unsubscribe","requestId":1,"query":{}}""", 1, 1, "Additional properties not allowed");
        await ExpectErrorAsync(socket, """{"op":"unsubscribe","requestId":99}""", 2, 99, "Cannot find subscription");
        await ExpectErrorAsync(socket, """{"op":"query","requestId":99}""", 2, 99, "Cannot find subscription");
        await ExpectErrorAsync(socket, """{"op":"query"}""", 1, contains: "requestId");
        await ExpectErrorAsync(socket, """{"op":"query","requestId":1,"where":{}}""", 1, 1, "Additional properties not allowed");
        await ExpectErrorAsync(socket, LiveQuerySocket.Subscribe(98, className, op: "update").ToJsonString(), 2, 98);

        // After all of that the socket still subscribes.
        await socket.SubscribeAsync(1, className);
    }

    [Fact]
    public async Task subscribe_update_and_unsubscribe_answer_with_their_request_id()
    {
        var className = await LiveQueryFixture.ClassAsync(Server);
        await using var socket = await LiveQuerySocket.OpenAsync(Server);
        // Connect and subscribe back to back, without waiting (as the Flutter SDK does): frames are handled in order.
        await socket.SendTextAsync("""{"op":"connect","applicationId":"crm","installationId":"i-9"}""");
        await socket.SendAsync(LiveQuerySocket.Subscribe(1, className, new JsonObject { ["stage"] = "won" }));
        var connected = await socket.NextAsync();
        Assert.Equal("connected", Op(connected));
        var subscribed = await socket.NextAsync();
        Assert.Equal("subscribed", Op(subscribed));
        Assert.Equal(1, subscribed["requestId"]!.GetValue<int>());
        Assert.Equal(connected["clientId"]!.GetValue<string>(), subscribed["clientId"]!.GetValue<string>());
        Assert.Equal("i-9", subscribed["installationId"]!.GetValue<string>());

        // update replaces the query: afterwards only "lost" deals match.
        await socket.SendAsync(LiveQuerySocket.Subscribe(1, className, new JsonObject { ["stage"] = "lost" }, op: "update"));
        var updated = await socket.NextAsync();
        Assert.Equal("subscribed", Op(updated));
        Assert.Equal(1, updated["requestId"]!.GetValue<int>());
        using var master = Server.Client().AsMaster();
        await master.CreateAsync(className, new JsonObject { ["name"] = "w", ["stage"] = "won" });
        var lost = await master.CreateAsync(className, new JsonObject { ["name"] = "l", ["stage"] = "lost" });
        var created = await socket.NextAsync();
        Assert.Equal("create", Op(created));
        Assert.Equal(lost, created["object"]!["objectId"]!.GetValue<string>());

        // query (the JS SDK's subscription.find()): the updated query's current matches, as a result frame.
        await socket.SendTextAsync("""{"op":"query","requestId":1}""");
        var result = await socket.NextAsync();
        Assert.Equal("result", Op(result));
        Assert.Equal(1, result["requestId"]!.GetValue<int>());
        Assert.Equal("i-9", result["installationId"]!.GetValue<string>());
        var found = Assert.Single(result["results"]!.AsArray());
        Assert.Equal(lost, found!["objectId"]!.GetValue<string>());
        Assert.Equal(className, found["className"]!.GetValue<string>());
        Assert.Equal("lost", found["stage"]!.GetValue<string>());

        await socket.SendTextAsync("""{"op":"unsubscribe","requestId":1}""");
        var unsubscribed = await socket.NextAsync();
        Assert.Equal("unsubscribed", Op(unsubscribed));
        Assert.Equal(1, unsubscribed["requestId"]!.GetValue<int>());
        Assert.Equal("i-9", unsubscribed["installationId"]!.GetValue<string>());
        // Unsubscribed: a later write brings nothing, which the next answer (to an unknown unsubscribe) shows.
        await master.CreateAsync(className, new JsonObject { ["name"] = "l2", ["stage"] = "lost" });
        await ExpectErrorAsync(socket, """{"op":"unsubscribe","requestId":1}""", 2, 1);
    }

    [Fact]
    public async Task events_follow_the_query_through_create_update_leave_enter_and_delete_with_original_and_the_object_fields()
    {
        var className = await LiveQueryFixture.ClassAsync(Server);
        var (_, userId, token) = await Server.UserAsync("lqlife");
        await using var socket = await LiveQuerySocket.ConnectAsync(Server, token);
        await socket.SubscribeAsync(3, className, new JsonObject { ["stage"] = new JsonObject { ["$in"] = new JsonArray("open", "won") } });

        using var master = Server.Client().AsMaster();
        var acl = LiveQueryFixture.Acl((userId, true));
        var id = await master.CreateAsync(className, new JsonObject { ["name"] = "Acme", ["stage"] = "open", ["amount"] = 10, ["ACL"] = acl });
        (await master.PutAsync($"classes/{className}/{id}", new JsonObject { ["amount"] = 20 })).EnsureStatus(HttpStatusCode.OK);
        (await master.PutAsync($"classes/{className}/{id}", new JsonObject { ["stage"] = "lost" })).EnsureStatus(HttpStatusCode.OK);
        (await master.PutAsync($"classes/{className}/{id}", new JsonObject { ["stage"] = "won", ["amount"] = new JsonObject { ["__op"] = "Delete" } })).EnsureStatus(HttpStatusCode.OK);
        (await master.DeleteAsync($"classes/{className}/{id}")).EnsureStatus(HttpStatusCode.OK);

        var frames = await socket.UntilAsync("delete", id);
        Assert.Equal(["create", "update", "leave", "enter", "delete"], frames.Select(Op));
        foreach (var frame in frames)
        {
            Assert.Equal(3, frame["requestId"]!.GetValue<int>());
            Assert.NotNull(frame["clientId"]);
            var obj = frame["object"]!.AsObject();
            Assert.Equal(className, obj["className"]!.GetValue<string>());
            Assert.Equal(id, obj["objectId"]!.GetValue<string>());
            Assert.NotNull(obj["createdAt"]?.GetValue<string>());
            Assert.NotNull(obj["updatedAt"]?.GetValue<string>());
            Assert.True(JsonNode.DeepEquals(acl, obj["ACL"]), obj.ToJsonString());
            Assert.Equal("Object", obj["__type"]!.GetValue<string>());
            Assert.Equal(Op(frame) is "update" or "enter" or "leave", frame["original"] is not null);
        }
        Assert.Equal(10, frames[1]["original"]!["amount"]!.GetValue<int>());
        Assert.Equal(20, frames[1]["object"]!["amount"]!.GetValue<int>());
        // leave shows the new state (still readable) and the matching one before it; enter the reverse.
        Assert.Equal("lost", frames[2]["object"]!["stage"]!.GetValue<string>());
        Assert.Equal("open", frames[2]["original"]!["stage"]!.GetValue<string>());
        Assert.Equal("won", frames[3]["object"]!["stage"]!.GetValue<string>());
        Assert.Null(frames[3]["object"]!["amount"]);
        Assert.Equal(20, frames[3]["original"]!["amount"]!.GetValue<int>());
        Assert.Equal("won", frames[4]["object"]!["stage"]!.GetValue<string>());
    }

    [Fact]
    public async Task keys_and_their_older_name_fields_limit_the_object_and_watch_limits_updates_to_changes_of_those_fields()
    {
        var className = await LiveQueryFixture.ClassAsync(Server);
        await using var socket = await LiveQuerySocket.ConnectAsync(Server);
        await socket.SubscribeAsync(1, className, keys: ["name"]);
        await socket.SendTextAsync($$$"""{"op":"subscribe","requestId":2,"query":{"className":"{{{className}}}","where":{},"fields":["stage"]}}""");
        Assert.Equal("subscribed", Op(await socket.NextAsync()));
        await socket.SubscribeAsync(3, className, watch: ["stage"]);

        using var master = Server.Client().AsMaster();
        var id = await master.CreateAsync(className, new JsonObject { ["name"] = "Acme", ["stage"] = "open", ["amount"] = 5 });
        (await master.PutAsync($"classes/{className}/{id}", new JsonObject { ["amount"] = 6 })).EnsureStatus(HttpStatusCode.OK);
        (await master.PutAsync($"classes/{className}/{id}", new JsonObject { ["stage"] = "won" })).EnsureStatus(HttpStatusCode.OK);
        (await master.DeleteAsync($"classes/{className}/{id}")).EnsureStatus(HttpStatusCode.OK);

        var frames = new List<JsonObject>();
        while (frames.Count(f => Op(f) == "delete") < 3) frames.Add(await socket.NextAsync());
        string[] Of(int requestId) => [.. frames.Where(f => f["requestId"]!.GetValue<int>() == requestId).Select(Op)];
        Assert.Equal(["create", "update", "update", "delete"], Of(1));
        Assert.Equal(["create", "update", "update", "delete"], Of(2));
        // watch: the create (stage set) and the stage change only; the amount change brings nothing.
        Assert.Equal(["create", "update", "delete"], Of(3));
        Assert.Equal("won", frames.Last(f => f["requestId"]!.GetValue<int>() == 3 && Op(f) == "update")["object"]!["stage"]!.GetValue<string>());

        string[] always = ["className", "objectId", "createdAt", "updatedAt", "__type"];
        foreach (var frame in frames.Where(f => f["requestId"]!.GetValue<int>() == 1))
            Assert.Equal(always.Append("name").Order(), frame["object"]!.AsObject().Select(p => p.Key).Order());
        foreach (var frame in frames.Where(f => f["requestId"]!.GetValue<int>() == 2))
        {
            Assert.Equal(always.Append("stage").Order(), frame["object"]!.AsObject().Select(p => p.Key).Order());
            if (frame["original"] is JsonObject original) Assert.Equal(always.Append("stage").Order(), original.Select(p => p.Key).Order());
        }
    }

    [Fact]
    public async Task the_master_key_sees_every_object_and_a_subscription_session_token_overrides_the_sockets()
    {
        var className = await LiveQueryFixture.ClassAsync(Server);
        var (_, aliceId, aliceToken) = await Server.UserAsync("lqalice");
        var (_, _, bobToken) = await Server.UserAsync("lqbob");
        await using var master = await LiveQuerySocket.ConnectAsync(Server, master: true);
        await master.SubscribeAsync(1, className);
        // Connected as Bob, subscription 1 as Alice (her token), subscription 2 as Bob.
        await using var socket = await LiveQuerySocket.ConnectAsync(Server, bobToken);
        await socket.SubscribeAsync(1, className, sessionToken: aliceToken);
        await socket.SubscribeAsync(2, className);
        // A subscription with an invalid token of its own is refused with 209.
        await socket.SendAsync(LiveQuerySocket.Subscribe(3, className, sessionToken: "r:nosuchtoken"));
        AssertError(await socket.NextAsync(), 209, 3);

        using var client = Server.Client().AsMaster();
        var privateId = await client.CreateAsync(className, new JsonObject { ["name"] = "alice only", ["ACL"] = LiveQueryFixture.Acl((aliceId, true)) });
        var publicId = await client.CreateAsync(className, new JsonObject { ["name"] = "everyone" });

        var masterFrames = await master.UntilAsync("create", publicId);
        Assert.Equal([privateId, publicId], masterFrames.Select(f => f["object"]!["objectId"]!.GetValue<string>()));
        var frames = new List<JsonObject>();
        while (frames.Count(f => f["object"]!["objectId"]!.GetValue<string>() == publicId) < 2) frames.Add(await socket.NextAsync());
        var byRequest = frames.GroupBy(f => f["requestId"]!.GetValue<int>()).ToDictionary(g => g.Key, g => g.Select(f => f["object"]!["objectId"]!.GetValue<string>()).ToList());
        Assert.Equal([privateId, publicId], byRequest[1]);
        Assert.Equal([publicId], byRequest[2]);
    }

    [Fact]
    public async Task frames_and_wheres_above_their_limits_are_refused_with_116()
    {
        var className = await LiveQueryFixture.ClassAsync(Server);
        await using (var socket = await LiveQuerySocket.ConnectAsync(Server))
        {
            var bigWhere = new JsonObject { ["name"] = new JsonObject { ["$in"] = new JsonArray(Enumerable.Range(0, 300).Select(i => (JsonNode)("value-" + i)).ToArray()) } };
            await socket.SendAsync(LiveQuerySocket.Subscribe(1, className, bigWhere));
            AssertError(await socket.NextAsync(), 116, 1, "Realtime:MaxWhereBytes");
            await socket.SubscribeAsync(2, className);
        }
        await using (var socket = await LiveQuerySocket.ConnectAsync(Server))
        {
            await socket.SendTextAsync("""{"op":"unsubscribe","requestId":1,"pad":" """ + new string('x', LiveQueryFixture.MaxFrameBytes) + "\"}");
            var frames = await socket.ClosedAsync();
            AssertError(Assert.Single(frames), 116, contains: "LiveQuery:MaxFrameBytes");
            Assert.Equal(WebSocketCloseStatus.MessageTooBig, socket.CloseStatus);
        }
    }

    [Fact]
    public async Task subscriptions_per_socket_and_sockets_per_user_are_capped_with_155()
    {
        var className = await LiveQueryFixture.ClassAsync(Server);
        var (_, _, token) = await Server.UserAsync("lqcap");
        await using var socket = await LiveQuerySocket.ConnectAsync(Server, token);
        for (var i = 1; i <= LiveQueryFixture.MaxSubscriptions; i++) await socket.SubscribeAsync(i, className);
        await socket.SendAsync(LiveQuerySocket.Subscribe(99, className));
        AssertError(await socket.NextAsync(), 155, 99, "LiveQuery:MaxSubscriptionsPerConnection");
        // Replacing an existing one is not a new one.
        await socket.SendAsync(LiveQuerySocket.Subscribe(1, className, new JsonObject { ["name"] = "x" }, op: "update"));
        Assert.Equal("subscribed", Op(await socket.NextAsync()));

        var more = new List<LiveQuerySocket>();
        try
        {
            for (var i = 1; i < LiveQueryFixture.MaxConnectionsPerUser; i++) more.Add(await LiveQuerySocket.ConnectAsync(Server, token));
            var extra = await LiveQuerySocket.OpenAsync(Server);
            more.Add(extra);
            await ExpectErrorAsync(extra, $$$"""{"op":"connect","applicationId":"crm","sessionToken":"{{{token}}}"}""", 155, contains: "LiveQuery:MaxConnectionsPerUser");
            // Anonymously the same socket may still connect: the cap counts the user's sockets.
            await extra.SendTextAsync("""{"op":"connect","applicationId":"crm"}""");
            Assert.Equal("connected", Op(await extra.NextAsync()));
        }
        finally
        {
            foreach (var s in more) await s.DisposeAsync();
        }
    }
}
