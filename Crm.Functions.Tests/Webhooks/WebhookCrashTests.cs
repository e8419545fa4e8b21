using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Crm.Functions.Tests.Webhooks;

/// <summary>
/// The outbox survives the process: the built server is SIGKILLed after writes were committed and before (or while) their
/// events were delivered, and the restarted server delivers every acknowledged change — and nothing for a change that was
/// never stored. The process runs on the embedded store (SQLite), where the outbox is committed in the change's own
/// transaction; Cosmos DB's held records are covered by WebhookDeliveryTests on that store.
/// </summary>
public sealed class WebhookCrashTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dataFolder = Directory.CreateTempSubdirectory("crm-webhook-crash-").FullName;

    private static Dictionary<string, string> Settings() => new()
    {
        ["Parse__Webhooks__AllowLoopback"] = "true",
        ["Parse__Webhooks__PollMilliseconds"] = "50",
        ["Parse__Webhooks__InitialBackoffSeconds"] = "0.2",
        ["Parse__Webhooks__MaxBackoffSeconds"] = "0.5",
        ["Parse__Webhooks__MaxAttempts"] = "1000",
        // The dispatcher's failures and dead letters, in the output a failing run shows.
        ["Logging__LogLevel__Crm.Functions.Core.Webhooks"] = "Information",
    };

    private static StringContent Json(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    private static async Task<string?> CreateAsync(HttpClient http, JsonObject body)
    {
        using var response = await http.PostAsync("classes/Ledger", Json(body));
        Assert.True((int)response.StatusCode < 500, $"create answered {(int)response.StatusCode}");
        return response.StatusCode == HttpStatusCode.Created ? JsonNode.Parse(await response.Content.ReadAsStringAsync())!["objectId"]!.GetValue<string>() : null;
    }

    /// <summary>Objects whose create event the receiver accepted (answered 2xx).</summary>
    private readonly ConcurrentDictionary<string, bool> _accepted = new(StringComparer.Ordinal);

    private IEnumerable<string> DeliveredIds(WebhookReceiver _) => _accepted.Keys;

    [Fact]
    public async Task sigkill_between_commit_and_delivery_then_restart_delivers_every_acknowledged_change()
    {
        await using var receiver = new WebhookReceiver();
        var receiverUp = false;
        receiver.Respond = (request, _) =>
        {
            if (!receiverUp) return Task.FromResult((503, "{}", (string?)null));
            _accepted[request.Json["object"]!["objectId"]!.GetValue<string>()] = true;
            return Task.FromResult((200, "{}", (string?)null));
        };
        string secret;
        var acknowledged = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);

        // 1. The receiver is down: changes are committed, their deliveries fail and wait; then the process dies.
        await using (var server = ServerProcess.Start(_dataFolder, Settings()))
        {
            await server.WaitForHealthAsync();
            using var http = server.Client();
            using var hook = await http.PostAsync("hooks/triggers", Json(new JsonObject { ["className"] = "Ledger", ["triggerName"] = "afterSave", ["url"] = receiver.Url("/ledger") }));
            Assert.Equal(HttpStatusCode.OK, hook.StatusCode);
            secret = JsonNode.Parse(await hook.Content.ReadAsStringAsync())!["secret"]!.GetValue<string>();
            for (var i = 0; i < 20; i++) acknowledged[await CreateAsync(http, new JsonObject { ["i"] = i }) ?? throw new InvalidOperationException("create")] = true;
            await receiver.WaitForAsync(r => r.Count >= 3);
            await server.KillAsync();
        }
        // Committed and acknowledged, none delivered: the outbox is all that carries them over the crash.
        Assert.Empty(_accepted);

        // 2. Writers run while the receiver is up, and the process is killed at a random moment among them.
        receiverUp = true;
        await using (var server = ServerProcess.Start(_dataFolder, Settings()))
        {
            await server.WaitForHealthAsync();
            using var http = server.Client(TimeSpan.FromSeconds(10));
            using var stop = new CancellationTokenSource();
            var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
            {
                for (var seq = 0; !stop.IsCancellationRequested; seq++)
                {
                    try
                    {
                        if (await CreateAsync(http, new JsonObject { ["writer"] = w, ["seq"] = seq }) is { } id) acknowledged[id] = true;
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                    {
                        return; // the server is gone: what was not answered was not acknowledged
                    }
                }
            })).ToArray();
            await Task.Delay(Random.Shared.Next(800, 2000));
            await server.KillAsync();
            await stop.CancelAsync();
            await Task.WhenAll(writers);
        }
        var deliveredBeforeRestart = DeliveredIds(receiver).Distinct().Count();

        // 3. After the restart every acknowledged change arrives, signed; every event is of an object that exists.
        await using (var server = ServerProcess.Start(_dataFolder, Settings()))
        {
            await server.WaitForHealthAsync();
            using var http = server.Client();
            try
            {
                await receiver.WaitForAsync(_ => acknowledged.Keys.All(DeliveredIds(receiver).ToHashSet().Contains), TimeSpan.FromMinutes(2));
            }
            catch (TimeoutException e)
            {
                using var dead = await http.GetAsync("hooks/deliveries?status=dead&limit=5");
                throw new TimeoutException($"{e.Message}\n{acknowledged.Keys.Count(id => !_accepted.ContainsKey(id))} of {acknowledged.Count} acknowledged "
                    + $"changes undelivered; dead: {await dead.Content.ReadAsStringAsync()}\nThe restarted server's output:\n{server.Output}", e);
            }
            var existing = new HashSet<string>(StringComparer.Ordinal);
            for (var skip = 0; ; skip += 1000)
            {
                using var page = await http.GetAsync($"classes/Ledger?limit=1000&skip={skip}&order=createdAt&keys=objectId");
                var results = JsonNode.Parse(await page.Content.ReadAsStringAsync())!["results"]!.AsArray();
                existing.UnionWith(results.Select(o => o!["objectId"]!.GetValue<string>()));
                if (results.Count < 1000) break;
            }
            // A create committed just before the SIGKILL but never answered is stored too, so it is delivered as well; its
            // delivery may have been in flight (leased) when the process died and then goes once that lease ran out.
            await receiver.WaitForAsync(_ => existing.All(DeliveredIds(receiver).ToHashSet().Contains), TimeSpan.FromMinutes(2));
            var delivered = DeliveredIds(receiver).ToHashSet();
            Assert.Subset(existing, delivered);
            Assert.Subset(delivered, existing);
            Assert.All(receiver.Received.Where(r => r.Path == "/ledger"), r => Assert.True(r.Verifies(secret)));
            output.WriteLine($"{acknowledged.Count} acknowledged creates ({existing.Count} stored); {deliveredBeforeRestart} delivered before the second SIGKILL, "
                + $"all {delivered.Count} after; {receiver.Received.Count(r => r.Path == "/ledger")} requests in all (retries and redeliveries included)");
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(_dataFolder, recursive: true); }
        catch (IOException) { }
    }
}
