using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Xunit.Abstractions;
using Crm.Functions.Tests.Infrastructure;
using static Crm.Functions.Tests.Realtime.RealtimeFixtures;

namespace Crm.Functions.Tests.Realtime;

/// <summary>End-to-end latency from an HTTP write to the event at a SignalR client (reported, not asserted).</summary>
public sealed class LatencyTests(ITestOutputHelper output)
{
    [Fact]
    public async Task latency_from_http_write_to_client_event_is_measured_over_200_writes()
    {
        const int writes = 200;
        using var server = FeedServer();
        await CreateDealClassAsync(server);
        var (a, aId, aToken) = await server.UserAsync("alice");
        await using var live = await RealtimeClient.ConnectAsync(server, aToken);
        var dealId = await CreateDealAsync(a, new JsonObject { ["title"] = "Latency", ["amount"] = 0, ["ACL"] = Acl((aId, true)) });
        await live.NextAsync("created", "the create");

        var samples = new List<double>(writes);
        for (var i = 1; i <= writes; i++)
        {
            var clock = Stopwatch.StartNew();
            (await a.PutAsync($"classes/Deal/{dealId}", new JsonObject { ["amount"] = i })).EnsureStatus(HttpStatusCode.OK);
            var e = await live.NextAsync("updated", $"update {i}");
            samples.Add(clock.Elapsed.TotalMilliseconds);
            Assert.Equal(i, e["object"]!["amount"]!.GetValue<double>());
        }
        samples.Sort();
        var median = samples[samples.Count / 2];
        var p99 = samples[(int)Math.Ceiling(samples.Count * 0.99) - 1];
        output.WriteLine($"Real-time latency over {samples.Count} writes (HTTP PUT to client event): median {median:F2} ms, p99 {p99:F2} ms, max {samples[^1]:F2} ms");
    }
}
