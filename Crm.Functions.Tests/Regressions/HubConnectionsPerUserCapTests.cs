using System.Net;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>Hub connections per user were uncapped: one account could hold any number of connections (and their subscriptions).</summary>
public sealed class HubConnectionsPerUserCapTests
{
    [Fact]
    public async Task a_user_beyond_realtime_max_connections_per_user_is_refused_with_429_while_other_users_still_connect()
    {
        using var server = new CrmServer(new Dictionary<string, string?> { ["Realtime:MaxConnectionsPerUser"] = "3" });
        var (_, _, token) = await server.UserAsync("mallory");
        var (_, _, otherToken) = await server.UserAsync("alice");

        var open = new List<RealtimeClient>();
        try
        {
            for (var i = 0; i < 3; i++) open.Add(await RealtimeClient.ConnectAsync(server, token));
            var refused = await Assert.ThrowsAsync<HttpRequestException>(() => RealtimeClient.ConnectAsync(server, token));
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            open.Add(await RealtimeClient.ConnectAsync(server, otherToken));
        }
        finally
        {
            foreach (var client in open) await client.DisposeAsync();
        }
    }
}
