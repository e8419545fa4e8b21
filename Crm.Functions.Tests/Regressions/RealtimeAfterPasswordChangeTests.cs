using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using static Crm.Functions.Tests.Realtime.RealtimeFixtures;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// A password change revokes every session on REST, but real time went on: an open connection of a stolen session kept
/// receiving the victim's new deals, and the hub token negotiated with it (15 minutes) still opened connections.
/// </summary>
public sealed class RealtimeAfterPasswordChangeTests
{
    /// <summary>The hub token /negotiate hands out for a session.</summary>
    internal static async Task<string> HubTokenAsync(CrmServer server, string sessionToken)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + "/negotiate");
        request.Headers.Add("X-Parse-Application-Id", CrmServer.AppId);
        request.Headers.Add("X-Parse-Session-Token", sessionToken);
        request.Content = new StringContent("", Encoding.UTF8, "text/plain");
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["accessToken"]!.GetValue<string>();
    }

    /// <summary>Opens the hub directly with a hub token, as a client holding one would; the HTTP status when refused.</summary>
    internal static async Task<HttpStatusCode?> OpenWithHubTokenAsync(CrmServer server, string hubToken)
    {
        await using var connection = new HubConnectionBuilder()
            .WithUrl(server.BaseUrl + "/hubs/crm", o => o.AccessTokenProvider = () => Task.FromResult<string?>(hubToken))
            .Build();
        try
        {
            await connection.StartAsync();
            return null;
        }
        catch (HttpRequestException e)
        {
            return e.StatusCode;
        }
    }

    /// <summary>Completes when the connection closes.</summary>
    internal static Task ClosedAsync(RealtimeClient client)
    {
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Connection.Closed += _ =>
        {
            closed.TrySetResult();
            return Task.CompletedTask;
        };
        return client.Connection.State == HubConnectionState.Disconnected ? Task.CompletedTask : closed.Task;
    }

    internal static async Task ExpectClosedAsync(Task closed, string because, int timeoutMs = 5000)
    {
        if (await Task.WhenAny(closed, Task.Delay(timeoutMs)) != closed) throw new Xunit.Sdk.XunitException($"The connection stayed open: {because}.");
    }

    [Fact]
    public async Task after_a_password_change_the_old_sessions_connection_is_closed_its_hub_token_refused_and_its_subscriptions_gone()
    {
        using var server = FeedServer();
        await CreateDealClassAsync(server);
        var (victim, victimId, oldToken) = await server.UserAsync("victim");

        // What a thief of the old session holds: an open connection, a hub token and a subscription.
        await using var stolen = await RealtimeClient.ConnectAsync(server, oldToken);
        var closed = ClosedAsync(stolen);
        var hubToken = await HubTokenAsync(server, oldToken);
        await HttpSubscriptions.SubscribeAsync(server, oldToken, "Deal", null);

        var change = await victim.PutAsync($"users/{victimId}", new JsonObject { ["password"] = "a brand new password" });
        change.EnsureStatus(HttpStatusCode.OK);
        var newToken = change.Json!["sessionToken"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.BadRequest, (await server.Client().WithSession(oldToken).GetAsync("users/me")).Status);

        await ExpectClosedAsync(closed, "its session was revoked by the password change");
        await CreateDealAsync(server.Client().WithSession(newToken), new JsonObject { ["title"] = "Secret plans", ["ACL"] = Acl((victimId, true)) });
        await stolen.ExpectNothingAsync();
        Assert.Equal(HttpStatusCode.BadRequest, await OpenWithHubTokenAsync(server, hubToken));
        var (status, list) = await HttpSubscriptions.CallAsync(server, HttpMethod.Get, "", null, ("X-Parse-Session-Token", newToken));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Empty(list!["results"]!.AsArray());

        // The victim's new session works as before.
        await using var own = await RealtimeClient.ConnectAsync(server, newToken);
        await CreateDealAsync(server.Client().WithSession(newToken), new JsonObject { ["title"] = "Next", ["ACL"] = Acl((victimId, true)) });
        Assert.Equal("Next", (await own.NextAsync("created", "the new session's feed"))["object"]!["title"]!.GetValue<string>());
    }
}
