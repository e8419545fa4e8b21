using System.Text;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Crm.Functions.Tests.Reliability;

/// <summary>
/// The LiveQuery socket under seeded garbage: malformed JSON, wrong types, unknown ops and properties, hostile wheres
/// (regex bombs, sub-queries, protected and internal fields), other users' and forged tokens. Every frame must get
/// exactly one well-formed answer (never an internal error, never a dropped socket), and afterwards the victim's private
/// writes must reach none of the attacker's subscriptions while the public ones still arrive. CRM_FUZZ_SEED replays.
/// </summary>
public sealed class LiveQueryFuzzTests(ITestOutputHelper output)
{
    private const int Sockets = 4, FramesPerSocket = 400;
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task garbage_frames_get_error_frames_never_faults_and_leak_nothing()
    {
        using var server = new CrmServer(TestSettings.Fast(("Parse:Store", "sqlite"), ("LiveQuery:MaxSubscriptionsPerConnection", "1000")));
        await FuzzAsync(server, () => LiveQuerySocket.OpenAsync(server), () => LiveQuerySocket.OpenAsync(server));
    }

    /// <summary>The same garbage through Azure Web PubSub (its stand-in): every frame is an upstream delivery, every event a REST send.</summary>
    [Fact]
    public async Task garbage_frames_through_web_pubsub_get_error_frames_never_faults_and_leak_nothing()
    {
        await using var rig = new LiveQuery.WebPubSubRig();
        using var server = new CrmServer(TestSettings.Fast([("Parse:Store", "sqlite"), ("LiveQuery:MaxSubscriptionsPerConnection", "1000"), .. rig.Settings()]), rig.Services);
        rig.Attach(server);
        await FuzzAsync(server, () => LiveQuerySocket.OpenAsync(rig.Service.ClientUrl), () => LiveQuerySocket.OpenAsync(rig.Service.ClientUrl));
        // Every delivery was answered by the app without a fault.
        Assert.DoesNotContain(rig.Service.Deliveries, d => d.Status >= 500);
    }

    private async Task FuzzAsync(CrmServer server, Func<Task<LiveQuerySocket>> open, Func<Task<LiveQuerySocket>> openProbe)
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("CRM_FUZZ_SEED"), out var s) ? s : Environment.TickCount & 0x7fffffff;
        output.WriteLine($"livequery fuzz seed {seed}");
        var world = await FuzzWorld.CreateAsync(server);
        var generator = new HostileRequests(world);
        var failures = new List<string>();
        var sockets = new List<LiveQuerySocket>();
        var answered = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, Sockets), async (n, _) =>
            {
                var socket = await open();
                lock (sockets) sockets.Add(socket);
                for (var i = 0; i < FramesPerSocket && clock.Elapsed < Budget; i++)
                {
                    var frame = Frame(new Random(HashCode.Combine(seed, n, i)), world, generator, i);
                    await socket.SendTextAsync(frame);
                    var answer = await socket.TryNextAsync();
                    var problem = answer is null ? "the socket was closed"
                        : !WellFormed(answer) ? "malformed answer " + answer.ToJsonString()
                        : Leaks(answer, world) ? "the victim's object in a query result " + answer.ToJsonString()
                        : answer["op"]!.GetValue<string>() == "error" && answer["error"]!.GetValue<string>().StartsWith("Internal", StringComparison.Ordinal) ? "internal error"
                        : null;
                    if (problem is null)
                    {
                        Interlocked.Increment(ref answered);
                        continue;
                    }
                    lock (failures) failures.Add($"socket {n} frame {i}: {problem} for {(frame.Length > 300 ? frame[..300] + "…" : frame)}");
                    return;
                }
            });
            output.WriteLine($"{answered} frames answered in {clock.Elapsed.TotalSeconds:F1} s");
            Assert.True(failures.Count == 0, $"seed {seed}: {string.Join("\n", failures)}");
            Assert.True(answered >= Math.Min(Sockets * FramesPerSocket, 1000), $"only {answered} frames were answered within {Budget.TotalSeconds} s");

            // Whatever got subscribed: the victim's private writes reach nobody here, public writes still flow.
            using var victim = server.Client().AsMaster();
            var privateAcl = new JsonObject { [world.VictimId] = new JsonObject { ["read"] = true, ["write"] = true } };
            var secret = await victim.CreateAsync(FuzzWorld.ClassName, new JsonObject { ["s"] = "private after fuzz", ["tag"] = "victim", ["ACL"] = privateAcl });
            await using var probe = await openProbe();
            await probe.SendAsync(new JsonObject { ["op"] = "connect", ["applicationId"] = CrmServer.AppId, ["sessionToken"] = world.AttackerToken });
            Assert.Equal("connected", (await probe.NextAsync())["op"]!.GetValue<string>());
            await probe.SubscribeAsync(1, FuzzWorld.ClassName);
            var visible = await world.Attacker.CreateAsync(FuzzWorld.ClassName, new JsonObject { ["s"] = "public after fuzz", ["tag"] = "public" });
            await probe.UntilAsync("create", visible);
            foreach (var socket in sockets)
            {
                // Drain what arrived; an error frame for a subscription whose regex ran out of time is an allowed answer.
                while (await TryQuickAsync(socket) is { } frame)
                    Assert.DoesNotContain(secret, frame.ToJsonString(), StringComparison.Ordinal);
            }
        }
        finally
        {
            foreach (var socket in sockets) await socket.DisposeAsync();
        }
    }

    private static async Task<JsonObject?> TryQuickAsync(LiveQuerySocket socket)
    {
        try
        {
            return await socket.TryNextAsync(300);
        }
        catch (Xunit.Sdk.XunitException)
        {
            return null;
        }
    }

    private static bool WellFormed(JsonObject answer) => answer["op"]?.GetValue<string>() switch
    {
        "error" => answer["code"] is JsonValue c && c.TryGetValue(out int _) && answer["error"] is JsonValue e && e.TryGetValue(out string? _)
                   && answer["reconnect"] is JsonValue r && r.TryGetValue(out bool _),
        "connected" => answer["clientId"] is JsonValue,
        "subscribed" or "unsubscribed" => answer["requestId"] is JsonValue,
        "result" => answer["requestId"] is JsonValue && answer["results"] is JsonArray,
        _ => false,
    };

    /// <summary>A <c>query</c> answer (the attacker's or an anonymous socket's) showing one of the victim's private objects.</summary>
    private static bool Leaks(JsonObject answer, FuzzWorld world) =>
        answer["results"] is JsonArray results && results.Any(o => o?["objectId"] is JsonValue id && id.TryGetValue(out string? objectId)
            && (world.VictimObjects.Contains(objectId) || world.VictimSecrets.Contains(objectId)));

    /// <summary>One hostile frame: mostly well-formed ops with wrong parts, some plain garbage. The first frame of most sockets connects them.</summary>
    private static string Frame(Random rng, FuzzWorld world, HostileRequests hostile, int index)
    {
        JsonNode? Pick(params JsonNode?[] options) => options[rng.Next(options.Length)];
        if (index == 0 && rng.Next(4) != 0)
            return new JsonObject { ["op"] = "connect", ["applicationId"] = CrmServer.AppId, ["sessionToken"] = rng.Next(2) == 0 ? world.AttackerToken : null }.ToJsonString();
        switch (rng.Next(12))
        {
            case 0:
                return Pick("", "null", "[]", "{", "{\"op\":", "\"connect\"", "1e999", "{\"op\":\"connect\"}}", new string('[', 500) + new string(']', 500),
                    "{\"op\":\"subscribe\",\"requestId\":1,\"query\":" + new string('{', 100) + new string('}', 100) + "}")!.GetValue<string>();
            case 1:
                var bytes = new byte[rng.Next(1, 200)];
                rng.NextBytes(bytes);
                return Encoding.UTF8.GetString(bytes);
            case 2:
                return new JsonObject { ["op"] = Pick("connect", "CONNECT", "subscribe", "fly", "", null, 1, new JsonArray()), [hostile.Value(rng)?.ToJsonString() ?? "x"] = hostile.Value(rng) }.ToJsonString();
            case 3:
                return new JsonObject
                {
                    ["op"] = "connect", ["applicationId"] = Pick(CrmServer.AppId, "other", 5, null, ""),
                    ["sessionToken"] = Pick(world.AttackerToken, "r:" + new string('a', 200), 7, null, ""), ["masterKey"] = Pick(null, "guess-master-key", CrmServer.MasterKey + "x"),
                    ["installationId"] = Pick(null, "x", new JsonObject()),
                }.ToJsonString();
            case 4:
                return new JsonObject { ["op"] = Pick("unsubscribe", "update", "query", "query"), ["requestId"] = Pick(1, -1, 0, long.MaxValue, 1.5, "1", null, new JsonObject()) }.ToJsonString();
            default:
                var query = new JsonObject
                {
                    ["className"] = Pick(FuzzWorld.ClassName, FuzzWorld.PrivateClass, "_User", "_Session", "_Role", "_Subscription", "_LiveQuery", "_SCHEMA", "", "../x", "Nope", 3, null),
                    ["where"] = rng.Next(8) == 0 ? hostile.Value(rng) : hostile.Where(rng),
                };
                if (rng.Next(4) == 0) query[Pick("keys", "fields", "watch")!.GetValue<string>()] = Pick(new JsonArray("s"), new JsonArray("_hashed_password"), new JsonArray(), new JsonArray("s", "s"), "s", new JsonArray(1), new JsonArray("authData", "password"));
                if (rng.Next(10) == 0) query[Pick("limit", "order", "include")!.GetValue<string>()] = 1;
                var frame = new JsonObject { ["op"] = Pick("subscribe", "subscribe", "update"), ["requestId"] = Pick(1, 2, 3, rng.Next(), -5, "x"), ["query"] = query };
                if (rng.Next(5) == 0) frame["sessionToken"] = Pick(world.AttackerToken, "r:forged", 1);
                return frame.ToJsonString();
        }
    }
}
