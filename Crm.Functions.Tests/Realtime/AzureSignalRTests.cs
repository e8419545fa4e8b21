using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Azure.Core;
using Crm.Functions.Realtime;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using static Crm.Functions.Tests.Realtime.RealtimeFixtures;

namespace Crm.Functions.Tests.Realtime;

/// <summary>
/// The Azure SignalR Service path against a local stand-in of its data-plane REST API (2022-11-01): with an
/// access key (the app signs every token) and with Microsoft Entra ID (the deployment's way: a bearer from
/// the app's identity on every call, client tokens from :generateToken).
/// </summary>
public sealed class AzureSignalRTests
{
    private const string AccessKey = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq=";

    private static async Task<JsonWebToken?> SignedWithAccessKeyAsync(string? token, string audience)
    {
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidateIssuer = false,
            ValidAudience = audience,
            IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(AccessKey)),
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        });
        return result.IsValid ? (JsonWebToken)result.SecurityToken : null;
    }

    private static async Task<(HttpStatusCode Status, string Text)> NegotiateAsync(CrmServer server, params (string Name, string Value)[] headers)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + "/negotiate");
        // The application id is sent unless a test names it.
        if (!headers.Any(h => h.Name == "X-Parse-Application-Id")) request.Headers.Add("X-Parse-Application-Id", CrmServer.AppId);
        foreach (var (name, value) in headers) request.Headers.TryAddWithoutValidation(name, value);
        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A server whose Azure SignalR connection string names a managed identity, with the test credential in DI.</summary>
    private static CrmServer EntraServer(SignalRServiceStandIn service, TokenCredential credential, Dictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>(settings ?? [])
        {
            ["Azure:SignalR:ConnectionString"] = $"Endpoint={service.Endpoint};AuthType=azure.msi;ClientId=00000000-0000-0000-0000-00000000c1d0;Version=1.0;",
            // As in Azure, where the Cosmos store keeps it for the change feed (the SQLite pass runs these too).
            ["Realtime:KeepPreviousState"] = "true",
        };
        return FeedServer(all, services => services.AddSingleton(credential));
    }

    [Fact]
    public async Task with_an_access_key_negotiate_and_pushes_are_signed_by_the_app()
    {
        await using var service = new SignalRServiceStandIn((authorization, url) =>
            authorization?.StartsWith("Bearer ", StringComparison.Ordinal) == true && SignedWithAccessKeyAsync(authorization[7..], url).GetAwaiter().GetResult() is not null);
        using var server = FeedServer(new Dictionary<string, string?>
        {
            ["Azure:SignalR:ConnectionString"] = $"Endpoint={service.Endpoint};AccessKey={AccessKey};Version=1.0;",
            ["Realtime:PushFromWrites"] = "true",
        });
        await CreateDealClassAsync(server);
        var (a, aId, aToken) = await server.UserAsync("alice");
        var (_, bId, _) = await server.UserAsync("bob");

        var (status, text) = await NegotiateAsync(server, ("X-Parse-Session-Token", aToken));
        Assert.Equal(HttpStatusCode.OK, status);
        var json = JsonNode.Parse(text)!;
        var clientUrl = json["url"]!.GetValue<string>();
        Assert.Equal($"{service.Endpoint}/client/?hub=crm", clientUrl);
        var clientToken = await SignedWithAccessKeyAsync(json["accessToken"]!.GetValue<string>(), clientUrl);
        Assert.NotNull(clientToken);
        Assert.Equal(aId, clientToken.GetClaim("nameid").Value);
        Assert.True(clientToken.ValidTo > DateTime.UtcNow);

        await CreateDealAsync(a, new JsonObject { ["title"] = "Wayne", ["ACL"] = Acl((aId, true)) });
        // The only call: the push to alice (the client token was signed locally); bob cannot read the deal.
        var push = Assert.Single(service.Expect(1));
        Assert.Equal(202, push.Status);
        Assert.Equal($"/api/hubs/crm/users/{aId}/:send", push.Path);
        Assert.Equal("2022-11-01", push.ApiVersion);
        var body = JsonNode.Parse(push.Body)!;
        Assert.Equal("created", body["target"]!.GetValue<string>());
        Assert.Equal("Wayne", body["arguments"]![0]!["object"]!["title"]!.GetValue<string>());
        Assert.NotEqual(bId, SignalRServiceStandIn.UserOf(push));
    }

    [Fact]
    public async Task with_entra_id_negotiate_returns_the_service_client_token_for_users_and_refuses_others()
    {
        var credential = new TestTokenCredential();
        await using var service = new SignalRServiceStandIn((authorization, _) => authorization is not null && authorization == credential.Bearer);
        using var server = EntraServer(service, credential);
        var (_, aId, aToken) = await server.UserAsync("alice");

        // Callers without a user get Parse errors and cost no call to the service.
        var (status, text) = await NegotiateAsync(server);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(209, JsonNode.Parse(text)!["code"]!.GetValue<int>());
        (status, text) = await NegotiateAsync(server, ("X-Parse-Session-Token", "r:not-a-session"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(209, JsonNode.Parse(text)!["code"]!.GetValue<int>());
        (status, _) = await NegotiateAsync(server, ("X-Parse-Master-Key", CrmServer.MasterKey));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        (status, _) = await NegotiateAsync(server, ("X-Parse-Session-Token", aToken), ("X-Parse-Application-Id", "other"));
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Empty(service.Calls);

        foreach (var header in new[] { ("X-Parse-Session-Token", aToken), ("Authorization", "Bearer " + aToken) })
        {
            (status, text) = await NegotiateAsync(server, header);
            Assert.Equal(HttpStatusCode.OK, status);
            var json = JsonNode.Parse(text)!;
            Assert.Equal($"{service.Endpoint}/client/?hub=crm", json["url"]!.GetValue<string>());
            Assert.Equal(SignalRServiceStandIn.TokenFor(aId), json["accessToken"]!.GetValue<string>());

            var call = Assert.Single(service.Expect(1));
            Assert.Equal(200, call.Status);
            Assert.Equal("/api/hubs/crm/:generateToken", call.Path);
            Assert.Equal("2022-11-01", call.ApiVersion);
            Assert.Equal(aId, call.Query["userId"]);
            Assert.Equal("15", call.Query["minutesToExpire"]);
        }
        Assert.All(credential.Scopes, scopes => Assert.Equal(["https://signalr.azure.com/.default"], scopes));
        Assert.Equal(1, credential.Requests);
    }

    [Fact]
    public async Task with_entra_id_creates_and_updates_come_from_the_change_feed_and_deletes_are_pushed_once_to_the_readers()
    {
        var credential = new TestTokenCredential();
        await using var service = new SignalRServiceStandIn((authorization, _) => authorization is not null && authorization == credential.Bearer);
        using var server = EntraServer(service, credential);
        await CreateDealClassAsync(server);
        var (a, aId, aToken) = await server.UserAsync("alice");
        var (_, bId, _) = await server.UserAsync("bob");
        var (_, cId, _) = await server.UserAsync("carol");
        await server.CreateRoleAsync("Sales", cId);

        var deals = new List<string>();
        for (var i = 0; i < 3; i++)
            deals.Add(await CreateDealAsync(a, new JsonObject { ["title"] = $"Deal {i}", ["ACL"] = Acl((aId, true), ("role:Sales", false)) }));
        (await a.PutAsync($"classes/Deal/{deals[0]}", new JsonObject { ["stage"] = "won" })).EnsureStatus(HttpStatusCode.OK);
        // Creates and updates are the change feed's: the writes themselves push nothing (no duplicates).
        Assert.False(service.Calls.TryTake(out var early, TimeSpan.FromMilliseconds(500)), $"unexpected call {early?.Path}");

        // The change feed's batch for the update becomes binding messages for exactly the readers.
        var (status, feed) = await ChangeFeedTests.InvokeAsync(server, "DealChanges",
            ChangeFeedTests.Invocation(await ChangeFeedTests.DocumentAsync(server, "Deal", deals[0])));
        Assert.Equal(HttpStatusCode.OK, status);
        var fed = feed!["Outputs"]!["signalRMessages"]!.AsArray();
        Assert.Equal(new[] { aId, cId }.Order(StringComparer.Ordinal), fed.Select(m => m!["userId"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.All(fed, m => Assert.Equal("updated", m!["target"]!.GetValue<string>()));

        (var negotiated, _) = await NegotiateAsync(server, ("X-Parse-Session-Token", aToken));
        Assert.Equal(HttpStatusCode.OK, negotiated);
        Assert.Single(service.Expect(1));

        // Hard deletes never reach the change feed: the deleting instance pushes them, once per reader.
        foreach (var id in deals) (await a.DeleteAsync($"classes/Deal/{id}")).EnsureStatus(HttpStatusCode.OK);
        var pushes = service.Expect(6);
        Assert.All(pushes, p =>
        {
            Assert.Equal(202, p.Status);
            Assert.Equal(credential.Bearer, p.Authorization);
            Assert.Equal("2022-11-01", p.ApiVersion);
            var message = JsonNode.Parse(p.Body)!;
            Assert.Equal("deleted", message["target"]!.GetValue<string>());
            Assert.Equal("delete", message["arguments"]![0]!["op"]!.GetValue<string>());
        });
        foreach (var reader in new[] { aId, cId })
        {
            // Each reader gets each delete once, in the order of the deletes.
            var theirs = pushes.Where(p => SignalRServiceStandIn.UserOf(p) == reader).Select(p => JsonNode.Parse(p.Body)!["arguments"]![0]!["objectId"]!.GetValue<string>());
            Assert.Equal(deals, theirs);
        }
        Assert.DoesNotContain(pushes, p => SignalRServiceStandIn.UserOf(p) == bId);

        // One Entra token served the negotiate and all six pushes.
        Assert.Equal(1, credential.Requests);
    }

    [Fact]
    public async Task with_entra_id_http_subscriptions_get_events_from_the_change_feed_and_the_delete_pushes()
    {
        var credential = new TestTokenCredential();
        await using var service = new SignalRServiceStandIn((authorization, _) => authorization is not null && authorization == credential.Bearer);
        using var server = EntraServer(service, credential);
        await CreateDealClassAsync(server);
        var (a, aId, aToken) = await server.UserAsync("alice");
        var (_, bId, bToken) = await server.UserAsync("bob");
        var (_, _, cToken) = await server.UserAsync("carol");
        // Alice's filter matches; bob's does not; carol may not read the deal at all.
        var aliceSubscription = await HttpSubscriptions.SubscribeAsync(server, aToken, "Deal", """{"stage":{"$in":["proposal","negotiation"]}}""");
        await HttpSubscriptions.SubscribeAsync(server, bToken, "Deal", """{"stage":"won"}""");
        await HttpSubscriptions.SubscribeAsync(server, cToken, "Deal", null);
        Assert.Empty(service.Calls);

        var dealId = await CreateDealAsync(a, new JsonObject { ["title"] = "Acme", ["stage"] = "lead", ["ACL"] = Acl((aId, true), (bId, false)) });
        (await a.PutAsync($"classes/Deal/{dealId}", new JsonObject { ["stage"] = "proposal" })).EnsureStatus(HttpStatusCode.OK);
        Assert.False(service.Calls.TryTake(out var early, TimeSpan.FromMilliseconds(500)), $"unexpected call {early?.Path}");

        var (status, feed) = await ChangeFeedTests.InvokeAsync(server, "DealChanges",
            ChangeFeedTests.Invocation(await ChangeFeedTests.DocumentAsync(server, "Deal", dealId)));
        Assert.Equal(HttpStatusCode.OK, status);
        var messages = feed!["Outputs"]!["signalRMessages"]!.AsArray();
        var subscribed = Assert.Single(messages, m => m!["target"]!.GetValue<string>() == "event")!;
        Assert.Equal(aId, subscribed["userId"]!.GetValue<string>());
        var e = subscribed["arguments"]![0]!;
        Assert.Equal(("enter", aliceSubscription, "lead"), (e["op"]!.GetValue<string>(), e["subscriptionId"]!.GetValue<string>(), e["previousStage"]!.GetValue<string>()));
        Assert.Equal("proposal", e["object"]!["stage"]!.GetValue<string>());
        Assert.Equal(2, messages.Count(m => m!["target"]!.GetValue<string>() == "updated"));

        // The delete is pushed by the deleting instance: the feed's to both readers, the subscription's to alice.
        (await a.DeleteAsync($"classes/Deal/{dealId}")).EnsureStatus(HttpStatusCode.OK);
        var pushes = service.Expect(3).Select(p => (User: SignalRServiceStandIn.UserOf(p), Message: JsonNode.Parse(p.Body)!)).ToList();
        var deleted = Assert.Single(pushes, p => p.Message["target"]!.GetValue<string>() == "event");
        Assert.Equal(aId, deleted.User);
        Assert.Equal(("delete", aliceSubscription), (deleted.Message["arguments"]![0]!["op"]!.GetValue<string>(), deleted.Message["arguments"]![0]!["subscriptionId"]!.GetValue<string>()));
        Assert.Equal(new[] { aId, bId }.Order(StringComparer.Ordinal),
            pushes.Where(p => p.Message["target"]!.GetValue<string>() == "deleted").Select(p => p.User).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task with_entra_id_subscriptions_of_a_class_without_change_feed_are_pushed_by_the_writing_instance()
    {
        var credential = new TestTokenCredential();
        await using var service = new SignalRServiceStandIn((authorization, _) => authorization is not null && authorization == credential.Bearer);
        using var server = EntraServer(service, credential);
        using (var master = server.Client().AsMaster())
            (await master.PostAsync("schemas/Company", new JsonObject { ["className"] = "Company", ["fields"] = new JsonObject { ["name"] = new JsonObject { ["type"] = "String" } } }))
                .EnsureStatus(HttpStatusCode.OK);
        var (a, aId, aToken) = await server.UserAsync("alice");
        var subscriptionId = await HttpSubscriptions.SubscribeAsync(server, aToken, "Company", null);

        var response = await a.PostAsync("classes/Company", new JsonObject { ["name"] = "Globex", ["ACL"] = Acl((aId, true)) });
        response.EnsureStatus(HttpStatusCode.Created);
        // No change feed exists for Company: the write itself is pushed, for the subscription only (Company is no feed class).
        var push = Assert.Single(service.Expect(1));
        Assert.Equal(aId, SignalRServiceStandIn.UserOf(push));
        var message = JsonNode.Parse(push.Body)!;
        Assert.Equal("event", message["target"]!.GetValue<string>());
        Assert.Equal(("create", subscriptionId), (message["arguments"]![0]!["op"]!.GetValue<string>(), message["arguments"]![0]!["subscriptionId"]!.GetValue<string>()));
    }

    [Fact]
    public async Task a_recipient_whose_sends_hang_does_not_hold_up_the_others_and_still_gets_its_events_in_order()
    {
        var credential = new TestTokenCredential();
        await using var service = new SignalRServiceStandIn((authorization, _) => authorization is not null && authorization == credential.Bearer);
        using var server = EntraServer(service, credential);
        await CreateDealClassAsync(server);
        var (a, aId, _) = await server.UserAsync("alice");
        var (_, cId, _) = await server.UserAsync("carol");
        await server.CreateRoleAsync("Sales", cId);
        var deals = new List<string>();
        for (var i = 0; i < 3; i++)
            deals.Add(await CreateDealAsync(a, new JsonObject { ["title"] = $"Deal {i}", ["ACL"] = Acl((aId, true), ("role:Sales", false)) }));

        service.Hold(cId);
        foreach (var id in deals) (await a.DeleteAsync($"classes/Deal/{id}")).EnsureStatus(HttpStatusCode.OK);
        // Carol's first push hangs at the service; alice's three arrive all the same.
        var alices = service.Expect(3);
        Assert.All(alices, p => Assert.Equal(aId, SignalRServiceStandIn.UserOf(p)));
        Assert.Equal(deals, alices.Select(p => JsonNode.Parse(p.Body)!["arguments"]![0]!["objectId"]!.GetValue<string>()));

        service.Release(cId);
        var carols = service.Expect(3);
        Assert.All(carols, p => Assert.Equal(cId, SignalRServiceStandIn.UserOf(p)));
        Assert.Equal(deals, carols.Select(p => JsonNode.Parse(p.Body)!["arguments"]![0]!["objectId"]!.GetValue<string>()));
    }

    [Fact]
    public async Task without_an_entra_token_negotiate_answers_a_parse_error_and_recovers_when_the_identity_does()
    {
        var credential = new TestTokenCredential { Fail = true };
        await using var service = new SignalRServiceStandIn((authorization, _) => authorization is not null && authorization == credential.Bearer);
        using var server = EntraServer(service, credential);
        await CreateDealClassAsync(server);
        var (a, aId, aToken) = await server.UserAsync("alice");

        var (status, text) = await NegotiateAsync(server, ("X-Parse-Session-Token", aToken));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = JsonNode.Parse(text)!.AsObject();
        Assert.Equal(100, error["code"]!.GetValue<int>());
        Assert.Equal("The real-time service is unavailable; try again.", error["error"]!.GetValue<string>());
        Assert.Equal(2, error.Count);
        Assert.DoesNotContain("Exception", text, StringComparison.Ordinal);

        // A delete whose push cannot get a token is logged and dropped; the write itself succeeds.
        var id = await CreateDealAsync(a, new JsonObject { ["title"] = "Lost", ["ACL"] = Acl((aId, true)) });
        (await a.DeleteAsync($"classes/Deal/{id}")).EnsureStatus(HttpStatusCode.OK);
        Assert.False(service.Calls.TryTake(out var call, TimeSpan.FromMilliseconds(500)), $"unexpected call {call?.Path}");

        // The failure is not remembered: once the identity answers, negotiate works.
        credential.Fail = false;
        (status, text) = await NegotiateAsync(server, ("X-Parse-Session-Token", aToken));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(SignalRServiceStandIn.TokenFor(aId), JsonNode.Parse(text)!["accessToken"]!.GetValue<string>());

        // A service that refuses the identity (no role assignment yet) is the same Parse error.
        await using var refusing = new SignalRServiceStandIn((_, _) => false);
        using var refused = EntraServer(refusing, new TestTokenCredential());
        var (_, _, token) = await refused.UserAsync("dave");
        (status, text) = await NegotiateAsync(refused, ("X-Parse-Session-Token", token));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(100, JsonNode.Parse(text)!["code"]!.GetValue<int>());
        Assert.Equal(401, Assert.Single(refusing.Expect(1)).Status);
    }

    [Theory]
    [InlineData("Endpoint=https://x.service.signalr.net;AccessKey=k;Version=1.0;", "https://x.service.signalr.net/", "k", null, null)]
    [InlineData("endpoint=https://x.service.signalr.net/;authtype=Azure.Msi;clientid=abc;version=1.0", "https://x.service.signalr.net/", null, "azure.msi", "abc")]
    [InlineData("Endpoint=https://x.service.signalr.net;AuthType=azure.msi;Version=1.0;", "https://x.service.signalr.net/", null, "azure.msi", null)]
    [InlineData("Endpoint=https://x.service.signalr.net;AuthType=azure;Version=1.0;", "https://x.service.signalr.net/", null, "azure", null)]
    [InlineData("Endpoint=http://localhost;Port=8080;AccessKey=k;", "http://localhost:8080/", "k", null, null)]
    public void connection_strings_in_the_services_format_are_read(string text, string endpoint, string? accessKey, string? authType, string? clientId)
    {
        var parsed = SignalRConnectionString.Parse(text)!;
        Assert.Equal(endpoint, parsed.Endpoint.ToString());
        Assert.Equal(accessKey, parsed.AccessKey);
        Assert.Equal(authType, parsed.AuthType);
        Assert.Equal(clientId, parsed.ClientId);
        Assert.Equal(authType is not null, parsed.UsesEntraId);
    }

    [Theory]
    [InlineData("AccessKey=k;Version=1.0;")]
    [InlineData("Endpoint=https://x.service.signalr.net;Version=1.0;")]
    [InlineData("Endpoint=https://x.service.signalr.net;AuthType=azure.app;ClientId=a;ClientSecret=s;TenantId=t")]
    [InlineData("Endpoint=ftp://x;AccessKey=k")]
    public void unusable_connection_strings_stop_the_app_with_the_setting_named(string text)
    {
        var e = Assert.Throws<InvalidOperationException>(() => SignalRConnectionString.Parse(text));
        Assert.Contains("Azure:SignalR:ConnectionString", e.Message, StringComparison.Ordinal);
        Assert.Null(SignalRConnectionString.Parse(" "));
    }
}
