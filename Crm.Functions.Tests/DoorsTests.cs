using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests;

/// <summary>Two servers for <see cref="DoorsTests"/>: an open one, and one with a client key and master-key addresses elsewhere.</summary>
public sealed class DoorServersFixture : IDisposable
{
    public const string ClientKey = "doors-client-key-1";

    // Deal is declared a feed class, so the change-feed door /DealChanges exists on both servers.
    public CrmServer Open { get; } = new(TestSettings.Fast(("Classes:Deal:Feed", "true")));

    public CrmServer Restricted { get; } = new(TestSettings.Fast(
        ("Classes:Deal:Feed", "true"),
        ("Parse:RestApiKey", ClientKey),
        // The tests call from loopback, which is then outside the allowed range.
        ("Parse:MasterKeyIps:0", "10.0.0.0/8")));

    public void Dispose()
    {
        Open.Dispose();
        Restricted.Dispose();
    }
}

/// <summary>
/// One way in: the same caller gets the same answer (HTTP status and Parse code) at every door — REST, a
/// <c>/batch</c>, GraphQL (the code in <c>errors[0].extensions.code</c>), <c>/negotiate</c>,
/// <c>/realtime/subscriptions</c> and the change-feed endpoint.
/// </summary>
public sealed class DoorsTests(DoorServersFixture fixture) : IClassFixture<DoorServersFixture>
{
    private delegate Task<(HttpStatusCode Status, int? Code)> Door(CrmServer server, (string Name, string Value)[] headers);

    private static readonly Dictionary<string, Door> AllDoors = new()
    {
        ["rest"] = (server, headers) => SendAsync(server, HttpMethod.Get, "/parse/users/me", null, headers),
        ["batch"] = (server, headers) => SendAsync(server, HttpMethod.Post, "/parse/batch",
            """{"requests":[{"method":"GET","path":"/parse/users/me"}]}""", headers),
        ["graphql"] = (server, headers) => SendAsync(server, HttpMethod.Post, "/graphql", """{"query":"{ health }"}""", headers),
        ["negotiate"] = (server, headers) => SendAsync(server, HttpMethod.Post, "/negotiate", "", headers),
        ["subscriptions"] = (server, headers) => SendAsync(server, HttpMethod.Get, "/realtime/subscriptions", null, headers),
        ["change feed"] = (server, headers) => SendAsync(server, HttpMethod.Post, "/DealChanges", """{"Data":{}}""", headers),
    };

    private static readonly (string, string) AppId = ("X-Parse-Application-Id", CrmServer.AppId);

    [Fact]
    public async Task a_missing_application_id_is_403_119_at_every_door()
    {
        var (_, token) = await SignUpAsync(fixture.Open);
        await AssertEveryDoorAsync(fixture.Open, [("X-Parse-Session-Token", token)], HttpStatusCode.Forbidden, 119);
    }

    [Fact]
    public async Task a_wrong_application_id_is_403_119_at_every_door()
    {
        var (_, token) = await SignUpAsync(fixture.Open);
        await AssertEveryDoorAsync(fixture.Open, [("X-Parse-Application-Id", "other"), ("X-Parse-Session-Token", token)], HttpStatusCode.Forbidden, 119);
    }

    [Fact]
    public async Task a_wrong_client_key_is_403_119_at_every_door_when_client_keys_are_configured()
    {
        var (_, token) = await SignUpAsync(fixture.Restricted, ("X-Parse-REST-API-Key", DoorServersFixture.ClientKey));
        await AssertEveryDoorAsync(fixture.Restricted, [AppId, ("X-Parse-REST-API-Key", "wrong"), ("X-Parse-Session-Token", token)], HttpStatusCode.Forbidden, 119);
        await AssertEveryDoorAsync(fixture.Restricted, [AppId, ("X-Parse-Session-Token", token)], HttpStatusCode.Forbidden, 119);
    }

    [Fact]
    public async Task the_master_key_from_outside_master_key_ips_is_403_119_at_every_door()
    {
        await AssertEveryDoorAsync(fixture.Restricted, [AppId, ("X-Parse-REST-API-Key", DoorServersFixture.ClientKey), ("X-Parse-Master-Key", CrmServer.MasterKey)],
            HttpStatusCode.Forbidden, 119);
    }

    [Fact]
    public async Task an_unknown_session_token_is_400_209_at_every_door()
    {
        await AssertEveryDoorAsync(fixture.Open, [AppId, ("X-Parse-Session-Token", "r:not-a-session")], HttpStatusCode.BadRequest, 209);
        await AssertEveryDoorAsync(fixture.Open, [AppId, ("Authorization", "Bearer r:not-a-session")], HttpStatusCode.BadRequest, 209);
    }

    [Fact]
    public async Task a_garbage_bearer_token_is_400_209_at_every_door()
    {
        await AssertEveryDoorAsync(fixture.Open, [AppId, ("Authorization", "Bearer not-a-jwt")], HttpStatusCode.BadRequest, 209);
    }

    [Fact]
    public async Task a_caller_without_a_user_where_one_is_required_gets_rests_answer_for_a_missing_session()
    {
        var rest = await SendAsync(fixture.Open, HttpMethod.Get, "/parse/users/me", null, [AppId]);
        Assert.Equal((HttpStatusCode.BadRequest, 209), rest);
        foreach (var headers in new[] { new[] { AppId }, [AppId, ("X-Parse-Master-Key", CrmServer.MasterKey)] })
        {
            Assert.Equal(rest, await AllDoors["negotiate"](fixture.Open, headers));
            Assert.Equal(rest, await AllDoors["subscriptions"](fixture.Open, headers));
        }
    }

    [Fact]
    public async Task a_signed_in_user_at_a_master_only_door_gets_rests_master_only_answer()
    {
        var (_, token) = await SignUpAsync(fixture.Open);
        (string, string)[] user = [AppId, ("X-Parse-Session-Token", token)];
        var rest = await SendAsync(fixture.Open, HttpMethod.Get, "/parse/schemas", null, user);
        Assert.Equal((HttpStatusCode.Forbidden, 119), rest);
        Assert.Equal(rest, await AllDoors["change feed"](fixture.Open, user));
    }

    [Fact]
    public async Task the_same_signed_in_user_gets_through_every_user_door()
    {
        var (_, token) = await SignUpAsync(fixture.Open);
        foreach (var name in new[] { "rest", "batch", "graphql", "negotiate", "subscriptions" })
            Assert.Equal((HttpStatusCode.OK, (int?)null), await AllDoors[name](fixture.Open, [AppId, ("X-Parse-Session-Token", token)]));
        Assert.Equal((HttpStatusCode.OK, (int?)null), await AllDoors["change feed"](fixture.Open, [AppId, ("X-Parse-Master-Key", CrmServer.MasterKey)]));
    }

    private static async Task AssertEveryDoorAsync(CrmServer server, (string Name, string Value)[] headers, HttpStatusCode status, int code)
    {
        var answers = new List<string>();
        foreach (var (name, door) in AllDoors)
        {
            var (actualStatus, actualCode) = await door(server, headers);
            if (actualStatus != status || actualCode != code) answers.Add($"{name}: {(int)actualStatus}/{actualCode}");
        }
        Assert.True(answers.Count == 0, $"Expected {(int)status}/{code} at every door, but: {string.Join(", ", answers)}");
    }

    private static async Task<(string UserId, string Token)> SignUpAsync(CrmServer server, params (string Name, string Value)[] extra)
    {
        var body = new JsonObject { ["username"] = Wire.Unique("door"), ["password"] = "correct horse battery" }.ToJsonString();
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, server.ParseUrl + "/users") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Parse-Application-Id", CrmServer.AppId);
        foreach (var (name, value) in extra) request.Headers.Add(name, value);
        using var response = await http.SendAsync(request);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.True(response.StatusCode == HttpStatusCode.Created, json.ToJsonString());
        return (json["objectId"]!.GetValue<string>(), json["sessionToken"]!.GetValue<string>());
    }

    /// <summary>One request; the answer's status and Parse code (REST's <c>code</c>, or GraphQL's first <c>extensions.code</c>).</summary>
    private static async Task<(HttpStatusCode Status, int? Code)> SendAsync(CrmServer server, HttpMethod method, string path, string? body,
        (string Name, string Value)[] headers)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(method, server.BaseUrl + path);
        foreach (var (name, value) in headers) request.Headers.TryAddWithoutValidation(name, value);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var json = text.Length == 0 ? null : JsonNode.Parse(text);
        var code = json is JsonObject o
            ? o["code"] ?? o["errors"]?[0]?["extensions"]?["code"]
            : null;
        return (response.StatusCode, code is JsonValue v && v.TryGetValue(out int c) ? c : null);
    }
}
