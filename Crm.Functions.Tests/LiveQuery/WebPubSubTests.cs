using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Crm.Functions.LiveQuery;
using Crm.Functions.Tests.CrmTemplate;
using Crm.Functions.Tests.Infrastructure;
using Crm.Functions.Tests.Realtime;
using Microsoft.IdentityModel.Tokens;
using Xunit.Abstractions;

namespace Crm.Functions.Tests.LiveQuery;

/// <summary>One app configured for Azure Web PubSub against the stand-in (<see cref="WebPubSubRig"/>).</summary>
public sealed class WebPubSubFixture : IAsyncLifetime
{
    public WebPubSubRig Rig { get; private set; } = null!;
    public CrmServer Server { get; private set; } = null!;
    public TestIdentityProvider Idp => Rig.Idp;
    public TestTokenCredential Credential => Rig.Credential;
    public WebPubSubServiceStandIn Service => Rig.Service;
    public string Upstream => Server.BaseUrl + WebPubSubLiveQuery.Path;

    public string ServiceToken(string? principal = null, string? audience = null, string? issuer = null, RsaSecurityKey? key = null, DateTime? expires = null) =>
        Rig.ServiceToken(principal, audience, issuer, key, expires);

    public Task InitializeAsync()
    {
        Rig = new WebPubSubRig();
        Server = new CrmServer(TestSettings.Fast([.. Rig.Settings(), ("Realtime:SessionCheckSeconds", "1")]), Rig.Services);
        Rig.Attach(Server);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        Server.Dispose();
        await Rig.DisposeAsync();
    }
}

/// <summary>
/// The Parse LiveQuery protocol through Azure Web PubSub (serverless), against the stand-in: the official JS SDK's
/// LiveQueryClient and query.subscribe() given the service's client URL, raw frames through the service, and the
/// upstream endpoint's refusals (no or wrong token, a foreign handshake origin).
/// </summary>
public sealed class WebPubSubTests(WebPubSubFixture fixture, ITestOutputHelper output) : IClassFixture<WebPubSubFixture>
{
    private CrmServer Server => fixture.Server;
    private WebPubSubServiceStandIn Service => fixture.Service;

    private static string Op(JsonObject frame) => frame["op"]!.GetValue<string>();

    private async Task<HttpResponseMessage> DeliverAsync(string? authorization, string type = "azure.webpubsub.sys.connect", string hub = "livequery",
        string? body = null, string contentType = "application/json")
    {
        using var http = new HttpClient();
        var request = new HttpRequestMessage(HttpMethod.Post, fixture.Upstream) { Content = new StringContent(body ?? "{}", Encoding.UTF8) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        request.Headers.Add("ce-specversion", "1.0");
        request.Headers.Add("ce-type", type);
        request.Headers.Add("ce-hub", hub);
        request.Headers.Add("ce-connectionId", "direct-" + Guid.NewGuid().ToString("N"));
        request.Headers.Add("ce-id", "1");
        if (authorization is not null) request.Headers.TryAddWithoutValidation("Authorization", authorization);
        return await http.SendAsync(request);
    }

    private static async Task AssertParseErrorAsync(HttpResponseMessage response, HttpStatusCode status, int code)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal(code, JsonNode.Parse(text)!["code"]!.GetValue<int>());
        Assert.NotNull(JsonNode.Parse(text)!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task js_sdk_live_queries_through_web_pubsub_get_the_events_each_user_may_see()
    {
        var run = await Tools.RunAsync("node", Tools.NodeProject("livequery"), ["livequery.mjs"], new Dictionary<string, string>
        {
            ["PARSE_SERVER_URL"] = Server.ParseUrl,
            ["PARSE_APP_ID"] = CrmServer.AppId,
            ["PARSE_MASTER_KEY"] = CrmServer.MasterKey,
            ["PARSE_LIVEQUERY_URL"] = Service.ClientUrl,
        });
        output.WriteLine(run.StdOut);
        if (run.StdErr.Length > 0) output.WriteLine(run.StdErr);
        Assert.True(run.ExitCode == 0, $"node livequery.mjs exited with {run.ExitCode}\n--- stdout\n{run.StdOut}\n--- stderr\n{run.StdErr}");
        Assert.Contains("all checks passed", run.StdOut, StringComparison.Ordinal);

        // Every socket went through the service: the handshake passed, and the app answered every delivery.
        Assert.True(Service.Validated);
        var deliveries = Service.Deliveries.ToList();
        Assert.Contains(deliveries, d => d.Type == "azure.webpubsub.user.message" && d.Body.Contains("\"op\":\"subscribed\"", StringComparison.Ordinal));
        Assert.All(deliveries, d => Assert.True(d.Status is >= 200 and < 300, $"{d.Type} answered {d.Status}: {d.Body}"));
        // Events went out through the REST API with the app identity's token and the api-version; logout closed a connection.
        var calls = Service.Calls.ToList();
        Assert.Contains(calls, c => c.Method == "POST" && c.Status == 202 && c.Body.Contains("\"op\":\"create\"", StringComparison.Ordinal));
        Assert.Contains(calls, c => c.Method == "POST" && c.Body.Contains("Invalid session token", StringComparison.Ordinal));
        Assert.Contains(calls, c => c.Method == "DELETE" && c.Status == 204);
        Assert.All(calls, c =>
        {
            Assert.Equal(WebPubSubServiceStandIn.ApiVersion, c.ApiVersion);
            Assert.Equal(fixture.Credential.Bearer, c.Authorization);
            Assert.StartsWith("/api/hubs/livequery/connections/", c.Path, StringComparison.Ordinal);
            if (c.Method == "POST") Assert.StartsWith("text/plain", c.ContentType, StringComparison.Ordinal);
        });
        Assert.DoesNotContain(calls, c => c.Status == 401 || c.Status == 400);
        Assert.All(fixture.Credential.Scopes, scopes => Assert.Equal(["https://webpubsub.azure.com/.default"], scopes));
    }

    [Fact]
    public async Task deliveries_without_the_services_token_are_refused_with_401()
    {
        using var otherKey = RSA.Create(2048);
        var refused = new (string Case, string? Authorization)[]
        {
            ("no token", null),
            ("not a JWT", "Bearer not-a-jwt"),
            ("basic", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("crm:" + CrmServer.MasterKey))),
            ("a session token", "Bearer r:0123456789abcdef0123456789abcdef"),
            ("another audience", "Bearer " + fixture.ServiceToken(audience: "api://someone-else")),
            ("another issuer", "Bearer " + fixture.ServiceToken(issuer: $"{fixture.Idp.Instance}{Guid.NewGuid()}/v2.0")),
            ("another signing key", "Bearer " + fixture.ServiceToken(key: new RsaSecurityKey(otherKey) { KeyId = "test-key-1" })),
            ("another identity of the tenant", "Bearer " + fixture.ServiceToken(principal: Guid.NewGuid().ToString())),
            ("expired", "Bearer " + fixture.ServiceToken(expires: DateTime.UtcNow.AddHours(-1))),
            ("a user's token", "Bearer " + fixture.Idp.Token(Guid.NewGuid().ToString(), "dana@contoso.example")),
        };
        foreach (var (name, authorization) in refused)
            foreach (var type in new[] { "azure.webpubsub.sys.connect", "azure.webpubsub.user.message", "azure.webpubsub.sys.disconnected" })
            {
                using var response = await DeliverAsync(authorization, type, contentType: "text/plain");
                output.WriteLine($"{name} / {type}: {(int)response.StatusCode}");
                await AssertParseErrorAsync(response, HttpStatusCode.Unauthorized, 119);
            }

        using (var accepted = await DeliverAsync("Bearer " + fixture.ServiceToken()))
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        // The right service, the wrong hub or event type: Parse errors, not 5xx.
        using (var otherHub = await DeliverAsync("Bearer " + fixture.ServiceToken(), hub: "other"))
            await AssertParseErrorAsync(otherHub, HttpStatusCode.BadRequest, 107);
        using (var unknown = await DeliverAsync("Bearer " + fixture.ServiceToken(), type: "azure.webpubsub.sys.unknown"))
            await AssertParseErrorAsync(unknown, HttpStatusCode.BadRequest, 107);
    }

    [Fact]
    public async Task the_handshake_allows_only_the_configured_service_and_a_refused_one_gets_no_clients()
    {
        using var http = new HttpClient();
        async Task<HttpResponseMessage> OptionsAsync(params string[] origins)
        {
            var request = new HttpRequestMessage(HttpMethod.Options, fixture.Upstream);
            foreach (var origin in origins) request.Headers.Add("WebHook-Request-Origin", origin);
            return await http.SendAsync(request);
        }

        using (var ok = await OptionsAsync(Service.Origin))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal([Service.Origin], ok.Headers.GetValues("WebHook-Allowed-Origin"));
        }
        foreach (var origins in new[] { new[] { "evil.webpubsub.azure.com" }, [], [Service.Origin, "evil.webpubsub.azure.com"] })
        {
            using var refused = await OptionsAsync(origins);
            Assert.False(refused.Headers.Contains("WebHook-Allowed-Origin"));
            await AssertParseErrorAsync(refused, HttpStatusCode.Forbidden, 119);
        }

        // A service the app does not know (another host) fails its handshake: it delivers nothing, and its clients are refused.
        await using var foreign = new WebPubSubServiceStandIn(_ => true, () => fixture.ServiceToken()) { Origin = "other.webpubsub.azure.com", Upstream = fixture.Upstream };
        await Assert.ThrowsAsync<WebSocketException>(async () => await LiveQuerySocket.OpenAsync(foreign.ClientUrl));
        Assert.False(foreign.Validated);
        Assert.Empty(foreign.Deliveries);
    }

    [Fact]
    public async Task frames_through_the_service_are_answered_like_the_websocket_doors_and_bad_ones_get_error_frames()
    {
        var className = await LiveQueryFixture.ClassAsync(Server);
        var (alice, aliceId, aliceToken) = await Server.UserAsync("alice");
        var (_, _, bobToken) = await Server.UserAsync("bob");

        await using var socket = await LiveQuerySocket.OpenAsync(Service.ClientUrl);
        // Before connect, and malformed frames: error frames, the connection stays.
        await socket.SendTextAsync("not json");
        Assert.Equal(1, (await socket.NextAsync())["code"]!.GetValue<int>());
        await socket.SendAsync(LiveQuerySocket.Subscribe(1, className));
        var early = await socket.NextAsync();
        Assert.True(Op(early) == "error" && early["code"]!.GetValue<int>() == 2 && early["requestId"]!.GetValue<int>() == 1, early.ToJsonString());
        await socket.SendBinaryAsync([1, 2, 3]);
        Assert.Equal(1, (await socket.NextAsync())["code"]!.GetValue<int>());
        await socket.SendTextAsync("{\"op\":\"connect\",\"applicationId\":\"crm\",\"extra\":1}");
        Assert.Contains("Additional properties", (await socket.NextAsync())["error"]!.GetValue<string>(), StringComparison.Ordinal);
        await socket.SendTextAsync("{\"op\":\"connect\",\"applicationId\":\"crm\",\"sessionToken\":\"r:unknown\"}");
        Assert.Equal(209, (await socket.NextAsync())["code"]!.GetValue<int>());

        await socket.SendAsync(new JsonObject { ["op"] = "connect", ["applicationId"] = CrmServer.AppId, ["sessionToken"] = bobToken, ["installationId"] = "inst-9" });
        var connected = await socket.NextAsync();
        Assert.Equal("connected", Op(connected));
        Assert.Equal("inst-9", connected["installationId"]!.GetValue<string>());
        var clientId = connected["clientId"]!.GetValue<string>();
        // A where on an unknown operator, a protected key: refused as on the socket door.
        await socket.SendAsync(LiveQuerySocket.Subscribe(2, className, new JsonObject { ["name"] = new JsonObject { ["$bogus"] = 1 } }));
        var badWhere = await socket.NextAsync();
        Assert.True(Op(badWhere) == "error" && badWhere["requestId"]!.GetValue<int>() == 2, badWhere.ToJsonString());
        await socket.SubscribeAsync(3, className);

        // Alice's private object reaches nobody else; a public one reaches Bob through the REST API, with his client id.
        var hidden = (await alice.PostAsync($"classes/{className}", new JsonObject { ["name"] = "hidden", ["ACL"] = LiveQueryFixture.Acl((aliceId, true)) }))
            .EnsureStatus(HttpStatusCode.Created).Json!["objectId"]!.GetValue<string>();
        var shown = (await alice.PostAsync($"classes/{className}", new JsonObject { ["name"] = "shown" }))
            .EnsureStatus(HttpStatusCode.Created).Json!["objectId"]!.GetValue<string>();
        var frames = await socket.UntilAsync("create", shown);
        Assert.DoesNotContain(frames, f => f["object"]?["objectId"]?.GetValue<string>() == hidden);
        var created = frames[^1];
        Assert.Equal(clientId, created["clientId"]!.GetValue<string>());
        Assert.Equal("inst-9", created["installationId"]!.GetValue<string>());
        Assert.Equal(3, created["requestId"]!.GetValue<int>());
        Assert.Equal(className, created["object"]!["className"]!.GetValue<string>());

        // Unsubscribe is confirmed and stops the events (the stored subscription is gone for every instance).
        await socket.SendAsync(new JsonObject { ["op"] = "unsubscribe", ["requestId"] = 3 });
        Assert.Equal("unsubscribed", Op(await socket.NextAsync()));
        await socket.SendAsync(new JsonObject { ["op"] = "unsubscribe", ["requestId"] = 3 });
        Assert.Equal(2, (await socket.NextAsync())["code"]!.GetValue<int>());
        await socket.SubscribeAsync(4, className, new JsonObject { ["name"] = "marker" });
        (await alice.PostAsync($"classes/{className}", new JsonObject { ["name"] = "after" })).EnsureStatus(HttpStatusCode.Created);
        var marker = (await alice.PostAsync($"classes/{className}", new JsonObject { ["name"] = "marker" })).EnsureStatus(HttpStatusCode.Created).Json!["objectId"]!.GetValue<string>();
        var later = await socket.UntilAsync("create", marker);
        Assert.Single(later);
        _ = aliceToken;
    }

    [Fact]
    public async Task a_disconnected_connection_is_forgotten_and_gets_no_more_sends()
    {
        var className = await LiveQueryFixture.ClassAsync(Server);
        var (alice, _, _) = await Server.UserAsync("alice");
        var before = Service.Connections.ToHashSet();
        string gone;
        await using (var leaving = await LiveQuerySocket.OpenAsync(Service.ClientUrl))
        {
            await leaving.SendAsync(new JsonObject { ["op"] = "connect", ["applicationId"] = CrmServer.AppId });
            Assert.Equal("connected", Op(await leaving.NextAsync()));
            await leaving.SubscribeAsync(1, className);
            gone = Assert.Single(Service.Connections.Except(before));
        }
        // The service tells the app; the app answers it (its state is dropped).
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!Service.Deliveries.Any(d => d.ConnectionId == gone && d.Type == "azure.webpubsub.sys.disconnected") && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.Contains(Service.Deliveries, d => d.ConnectionId == gone && d.Type == "azure.webpubsub.sys.disconnected" && d.Status == 204);

        await using var staying = await LiveQuerySocket.OpenAsync(Service.ClientUrl);
        await staying.SendAsync(new JsonObject { ["op"] = "connect", ["applicationId"] = CrmServer.AppId });
        Assert.Equal("connected", Op(await staying.NextAsync()));
        await staying.SubscribeAsync(1, className);
        var id = (await alice.PostAsync($"classes/{className}", new JsonObject { ["name"] = "x" })).EnsureStatus(HttpStatusCode.Created).Json!["objectId"]!.GetValue<string>();
        await staying.UntilAsync("create", id);
        Assert.DoesNotContain(Service.Calls, c => c.Path.Contains(gone, StringComparison.Ordinal));
    }
}
