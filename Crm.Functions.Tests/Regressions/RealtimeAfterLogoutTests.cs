using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using Crm.Functions.Tests.Realtime;
using static Crm.Functions.Tests.Realtime.RealtimeFixtures;
using static Crm.Functions.Tests.Regressions.RealtimeAfterPasswordChangeTests;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Hub tokens named only the user: logging out (or deleting the session) ended it on REST while its real-time
/// connection stayed open and its hub token kept opening new ones.
/// </summary>
public sealed class RealtimeAfterLogoutTests
{
    [Fact]
    public async Task logging_out_closes_that_sessions_connections_only_and_its_hub_token_no_longer_connects()
    {
        using var server = FeedServer();
        await CreateDealClassAsync(server);
        var (laptop, userId, laptopToken) = await server.UserAsync("alice");
        var phone = server.Client();
        var username = (await laptop.GetAsync("users/me")).Json!["username"]!.GetValue<string>();
        (await phone.LogInAsync(username, "correct horse battery")).EnsureStatus(HttpStatusCode.OK);

        await using var laptopLive = await RealtimeClient.ConnectAsync(server, laptopToken);
        await using var phoneLive = await RealtimeClient.ConnectAsync(server, phone.SessionToken!);
        var closed = ClosedAsync(laptopLive);
        var hubToken = await HubTokenAsync(server, laptopToken);

        (await laptop.PostAsync("logout", null)).EnsureStatus(HttpStatusCode.OK);

        await ExpectClosedAsync(closed, "its session logged out");
        Assert.Equal(HttpStatusCode.BadRequest, await OpenWithHubTokenAsync(server, hubToken));
        await CreateDealAsync(phone, new JsonObject { ["title"] = "Still live", ["ACL"] = Acl((userId, true)) });
        Assert.Equal("Still live", (await phoneLive.NextAsync("created", "the other session's connection stays"))["object"]!["title"]!.GetValue<string>());
        await laptopLive.ExpectNothingAsync(0);
    }

    [Fact]
    public async Task deleting_a_session_through_rest_closes_its_connection()
    {
        using var server = FeedServer();
        var (client, _, token) = await server.UserAsync("alice");
        await using var live = await RealtimeClient.ConnectAsync(server, token);
        var closed = ClosedAsync(live);

        var sessions = (await client.GetAsync("sessions")).Results;
        var sessionId = Assert.Single(sessions)!["objectId"]!.GetValue<string>();
        (await client.DeleteAsync($"sessions/{sessionId}")).EnsureStatus(HttpStatusCode.OK);

        await ExpectClosedAsync(closed, "its session was deleted");
    }

    [Fact]
    public async Task with_azure_signalr_logging_out_closes_the_users_connections_at_the_service()
    {
        await using var service = new SignalRServiceStandIn((authorization, _) => authorization is not null);
        using var server = FeedServer(new Dictionary<string, string?>
        {
            ["Azure:SignalR:ConnectionString"] = $"Endpoint={service.Endpoint};AccessKey=ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq=;Version=1.0;",
        });
        var (client, userId, _) = await server.UserAsync("alice");

        (await client.PostAsync("logout", null)).EnsureStatus(HttpStatusCode.OK);

        Assert.True(service.Calls.TryTake(out var call, TimeSpan.FromSeconds(5)), "no call reached the service");
        Assert.Equal($"/api/hubs/crm/users/{userId}/:closeConnections", call.Path);
        Assert.Equal(204, call.Status);
        Assert.Equal("2022-11-01", call.ApiVersion);
    }
}
