using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Crm.Functions.Tests.Reliability;

/// <summary>
/// A seeded generator of malformed and hostile requests over every route, sent as a signed-in user without the
/// master key. The server passes only with no 5xx, no dropped connection, no answer slower than 2 s, every 4xx a
/// Parse <c>{code, error}</c> body (GraphQL: <c>errors[].extensions.code</c>), and another user's private objects
/// unchanged. CRM_FUZZ_SEED replays a failing run; CRM_FUZZ_COUNT changes the number of requests.
/// </summary>
[Collection(FuzzRun.Name)]
public sealed class FuzzTests(ITestOutputHelper output)
{
    private const int DefaultCount = 10_000;
    private const int Parallelism = 4;
    private static readonly TimeSpan SlowAnswer = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task hostile_requests_get_parse_errors_never_faults_and_leave_other_users_data_alone()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("CRM_FUZZ_SEED"), out var s) ? s : Environment.TickCount & 0x7fffffff;
        var count = int.TryParse(Environment.GetEnvironmentVariable("CRM_FUZZ_COUNT"), out var c) ? c : DefaultCount;
        output.WriteLine($"fuzz seed {seed}, {count} requests");

        // Always the embedded store: what is fuzzed is the server's handling of input, which is the same over both
        // stores, and the local Cosmos DB API server the Cosmos runs use is a test double that cannot take this load.
        using var server = new CrmServer(TestSettings.Fast(("Parse:Limits:MaxBodyBytes", (1024 * 1024).ToString()), ("Parse:Limits:MaxRequestHeadersBytes", "16384"),
            ("Parse:Store", "sqlite"), ("Parse:Idempotency:Enabled", "true"),
            // The fuzzed classes keep a history, so every write goes through its journal and its route reads real entries.
            ("Parse:History:Classes:0", FuzzWorld.ClassName), ("Parse:History:Classes:1", FuzzWorld.PrivateClass),
            // Mail on (to a closed port: nothing is delivered), so the mail routes and pages read their input instead of answering 108.
            ("Parse:Email:SmtpHost", "127.0.0.1"), ("Parse:Email:SmtpPort", "9"), ("Parse:Email:UseTls", "None"),
            ("Parse:Email:From", "no-reply@crm.mail.test"), ("Parse:PublicServerUrl", "http://crm.mail.test/parse")));
        var world = await FuzzWorld.CreateAsync(server);
        var (before, beforeText) = await world.VictimExportAsync();

        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = Parallelism,
            // Non-ASCII header values go out as UTF-8 bytes, as a hostile client would send them.
            RequestHeaderEncodingSelector = (_, _) => Encoding.UTF8,
        };
        using var http = new HttpClient(handler) { BaseAddress = new Uri(server.BaseUrl + "/"), Timeout = TimeSpan.FromSeconds(30) };
        var generator = new HostileRequests(world);
        var failures = new ConcurrentQueue<string>();
        var suspects = new ConcurrentQueue<string>();
        int serverErrors = 0, dropped = 0, slow = 0, badBodies = 0, sent = 0;
        var statuses = new ConcurrentDictionary<int, int>();
        var clock = Stopwatch.StartNew();

        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (i, ct) =>
        {
            if (clock.Elapsed > Budget) return;
            // One generator per request index, so a failing request replays from (seed, index) alone.
            var fuzz = generator.Make(new Random(HashCode.Combine(seed, i)));
            Interlocked.Increment(ref sent);
            using var request = fuzz.ToHttp();
            var watch = Stopwatch.StartNew();
            try
            {
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
                var body = await response.Content.ReadAsByteArrayAsync(ct);
                watch.Stop();
                var status = (int)response.StatusCode;
                statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
                string? problem = null;
                if (status >= 500) { Interlocked.Increment(ref serverErrors); problem = "5xx"; }
                else if (IsAccountPage(fuzz)) { if (!AccountPageOk(response, body) && !KestrelProtocolRefusal(fuzz, status, body)) { Interlocked.Increment(ref badBodies); problem = "account page answer is not a page with its CSP"; } }
                else if (status >= 400 && fuzz.Method != "HEAD" && !KestrelProtocolRefusal(fuzz, status, body) && !ErrorBodyOk(fuzz.IsGraphQL, body) && !(fuzz.Url.StartsWith("mcp", StringComparison.Ordinal) && JsonRpcErrorOk(body))) { Interlocked.Increment(ref badBodies); problem = "4xx body is not an error object"; }
                if (watch.Elapsed > SlowAnswer) { Interlocked.Increment(ref slow); problem = $"slow ({watch.ElapsedMilliseconds} ms)"; }
                // Answers that succeeded on a request naming the victim's objects: the first suspects if those change.
                if (status < 300 && world.NamesVictim(fuzz)) suspects.Enqueue($"#{i} {status}: {fuzz.Describe()} -> {Truncate(Encoding.UTF8.GetString(body))}");
                if (problem is not null)
                    failures.Enqueue($"#{i} {problem}: {fuzz.Describe()} -> {status} {Truncate(Encoding.UTF8.GetString(body))}");
            }
            catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
            {
                Interlocked.Increment(ref dropped);
                failures.Enqueue($"#{i} dropped: {fuzz.Describe()} -> {e.GetType().Name}: {e.Message}");
            }
        });
        clock.Stop();

        var (after, afterText) = await world.VictimExportAsync();
        output.WriteLine($"sent {sent} in {clock.Elapsed.TotalSeconds:F1} s; 5xx {serverErrors}, dropped {dropped}, slow {slow}, bad 4xx bodies {badBodies}");
        output.WriteLine("statuses: " + string.Join(", ", statuses.OrderBy(p => p.Key).Select(p => $"{p.Key}×{p.Value}")));
        // Some of each kind, faults first: one kind found many times must not hide the others.
        foreach (var kind in failures.GroupBy(f => f.Split(':')[0].Split(' ')[1]).OrderBy(g => g.Key == "5xx" ? 0 : g.Key == "dropped" ? 1 : 2))
            foreach (var failure in kind.Take(25)) output.WriteLine(failure);

        var summary = $"seed {seed}: 5xx {serverErrors}, dropped {dropped}, slow {slow}, bad 4xx bodies {badBodies}; first: {failures.FirstOrDefault()}";
        Assert.True(sent >= Math.Min(count, DefaultCount), $"only {sent} of {count} requests were sent within {Budget.TotalSeconds} s (seed {seed})");
        Assert.True(failures.IsEmpty, summary);
        if (before != after)
        {
            output.WriteLine("victim export before: " + beforeText);
            output.WriteLine("victim export after:  " + afterText);
            foreach (var suspect in suspects.Take(40)) output.WriteLine("suspect " + suspect);
        }
        Assert.True(before == after, $"seed {seed}: the victim's private objects changed");
        // The server still answers normally afterwards.
        (await world.Attacker.GetAsync("users/me")).EnsureStatus(HttpStatusCode.OK);
    }

    /// <summary>
    /// Kestrel refuses a request target or header holding a NUL (%00) before any app code runs, with a bare 400: HTTP-level
    /// refusals of that kind are the one place the body cannot be Parse's.
    /// </summary>
    private static bool KestrelProtocolRefusal(FuzzRequest fuzz, int status, byte[] body) =>
        status == 400 && body.Length == 0 && (fuzz.Url.Split('?')[0].Contains("%00", StringComparison.Ordinal) || fuzz.Url.Contains('\0', StringComparison.Ordinal)
                                               || fuzz.Headers.Any(h => h.Value.Contains('\0', StringComparison.Ordinal)));

    /// <summary>The MCP door answers protocol faults the SDK detects (bad JSON-RPC, wrong Accept) with a JSON-RPC error object.</summary>
    private static bool JsonRpcErrorOk(byte[] body)
    {
        try
        {
            return JsonNode.Parse(body) is JsonObject o && o["jsonrpc"] is JsonValue && o["error"]?["code"] is JsonValue code && code.TryGetValue(out int _)
                   && o["error"]!["message"] is JsonValue;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The account pages answer browsers: HTML under their own no-script policy, whatever the input (or a redirect onward).</summary>
    /// <summary>
    /// A request an account page answers: an app id segment and a page's name. Anything else under <c>apps/</c> (an
    /// empty app id, no such page) matches no page and meets the REST door, whose answers are Parse errors.
    /// </summary>
    private static bool IsAccountPage(FuzzRequest fuzz) =>
        System.Text.RegularExpressions.Regex.IsMatch(fuzz.Url, @"^parse/apps/[^/?]+/(request_password_reset|choose_password|verify_email)(\?|$)");

    private static bool AccountPageOk(HttpResponseMessage response, byte[] body) =>
        // A method no page takes meets the server's Parse 405 before any page runs.
        (int)response.StatusCode == 405 ? ErrorBodyOk(false, body) : (int)response.StatusCode is 200 or 302 or 400 or 403 or 404 or 429
        && ((int)response.StatusCode == 302 || response.Content.Headers.ContentType?.MediaType == "text/html")
        && ((int)response.StatusCode == 302 || response.Headers.TryGetValues("Content-Security-Policy", out var csp) && csp.Single().StartsWith("default-src 'none'", StringComparison.Ordinal));

    private static bool ErrorBodyOk(bool graphQL, byte[] body)
    {
        try
        {
            var json = JsonNode.Parse(body);
            if (json is JsonObject o && o["code"] is JsonValue code && code.TryGetValue(out int _) && o["error"] is JsonValue error && error.TryGetValue(out string? _))
                return true;
            // GraphQL's own format: errors[] each with a message and extensions.code.
            return graphQL && json?["errors"] is JsonArray { Count: > 0 } errors
                   && errors.All(e => e?["message"] is JsonValue && e["extensions"]?["code"] is JsonValue);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "…";
}

/// <summary>The users and objects a fuzz run works on: an attacker (signed in, no master key) and a victim's private data.</summary>
internal sealed class FuzzWorld
{
    public const string ClassName = "Fuzz";
    public const string PrivateClass = "Secret";
    private readonly CrmServer _server;

    private FuzzWorld(CrmServer server, ParseClient attacker)
    {
        _server = server;
        Attacker = attacker;
    }

    public ParseClient Attacker { get; }
    public string AttackerToken => Attacker.SessionToken!;
    public string AttackerUser { get; private set; } = "";
    public string AttackerId { get; private set; } = "";
    public string VictimId { get; private set; } = "";
    public List<string> VictimObjects { get; } = [];
    public List<string> VictimSecrets { get; } = [];
    public List<string> PublicObjects { get; } = [];

    /// <summary>Every field type, so wrong types can be sent for each.</summary>
    public static readonly (string Name, string Type)[] Fields =
    [
        ("s", "String"), ("n", "Number"), ("b", "Boolean"), ("d", "Date"), ("o", "Object"), ("a", "Array"), ("g", "GeoPoint"),
        ("f", "File"), ("y", "Bytes"), ("poly", "Polygon"), ("p", "Pointer"), ("r", "Relation"), ("self", "Pointer"),
    ];

    public static async Task<FuzzWorld> CreateAsync(CrmServer server)
    {
        using var master = server.Client().AsMaster();
        var fields = new JsonObject();
        foreach (var (name, type) in Fields)
        {
            fields[name] = type switch
            {
                "Pointer" when name == "p" => new JsonObject { ["type"] = type, ["targetClass"] = "_User" },
                "Pointer" => new JsonObject { ["type"] = type, ["targetClass"] = ClassName },
                "Relation" => new JsonObject { ["type"] = type, ["targetClass"] = ClassName },
                _ => new JsonObject { ["type"] = type },
            };
        }
        fields["tag"] = new JsonObject { ["type"] = "String" };
        (await master.PostAsync($"schemas/{ClassName}", new JsonObject { ["fields"] = fields })).EnsureStatus(HttpStatusCode.OK);
        (await master.PostAsync($"schemas/{PrivateClass}", new JsonObject { ["fields"] = new JsonObject { ["secret"] = new JsonObject { ["type"] = "String" } } }))
            .EnsureStatus(HttpStatusCode.OK);

        var victim = server.Client();
        var (victimId, _) = await victim.SignUpAsync(Wire.Unique("victim"));
        var attacker = server.Client();
        var attackerName = Wire.Unique("attacker");
        var (attackerId, _) = await attacker.SignUpAsync(attackerName);
        var world = new FuzzWorld(server, attacker) { VictimId = victimId, AttackerId = attackerId, AttackerUser = attackerName };
        var privateAcl = new JsonObject { [victimId] = new JsonObject { ["read"] = true, ["write"] = true } };
        for (var i = 0; i < 5; i++)
        {
            world.VictimObjects.Add(await victim.CreateAsync(ClassName, new JsonObject
            {
                ["s"] = "private " + i, ["n"] = i, ["tag"] = "victim", ["ACL"] = privateAcl.DeepClone(),
                ["p"] = new JsonObject { ["__type"] = "Pointer", ["className"] = "_User", ["objectId"] = victimId },
            }));
            world.VictimSecrets.Add(await victim.CreateAsync(PrivateClass, new JsonObject { ["secret"] = "s3cr3t " + i, ["ACL"] = privateAcl.DeepClone() }));
        }
        // Public rows with long strings give $regex something to chew on.
        for (var i = 0; i < 30; i++)
        {
            world.PublicObjects.Add(await attacker.CreateAsync(ClassName, new JsonObject
            {
                ["s"] = new string('a', 40 + i) + "!", ["n"] = i, ["tag"] = "public", ["b"] = i % 2 == 0,
            }));
        }
        victim.Dispose();
        return world;
    }

    public bool NamesVictim(FuzzRequest request)
    {
        var text = request.Url + (request.Body is null ? "" : Encoding.UTF8.GetString(request.Body));
        return VictimObjects.Concat(VictimSecrets).Any(id => text.Contains(id, StringComparison.Ordinal));
    }

    /// <summary>The victim's private objects as the master key exports them; any change shows in the hash.</summary>
    public async Task<(string Hash, string Text)> VictimExportAsync()
    {
        using var master = _server.Client().AsMaster();
        var text = new StringBuilder();
        foreach (var (className, ids) in new[] { (ClassName, VictimObjects), (PrivateClass, VictimSecrets) })
        {
            var where = new JsonObject { ["objectId"] = new JsonObject { ["$in"] = new JsonArray(ids.Select(id => (JsonNode)id).ToArray()) } };
            var response = await master.QueryAsync(className, where, "order=objectId&limit=1000");
            response.EnsureStatus(HttpStatusCode.OK);
            Assert.Equal(ids.Count, response.Results.Count);
            // Relation fields show on every object of the class as an empty placeholder ({"__type":"Relation"}):
            // they come from the schema, which signed-in users may extend with new fields, not from the object.
            foreach (var row in response.Results.OfType<JsonObject>())
                foreach (var key in row.Where(p => p.Value is JsonObject o && o["__type"]?.ToString() == "Relation").Select(p => p.Key).ToList())
                    row.Remove(key);
            text.Append(response.Json!.ToJsonString());
        }
        return (Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()))), text.ToString());
    }
}

/// <summary>
/// The fuzz run alone: it bounds every answer's time (a hang or an amplification is a failure), so it must not share the
/// machine's cores with the browser, Azurite and real-time suites, whose load says nothing about the server under fuzz.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FuzzRun
{
    public const string Name = "Fuzz run (alone)";
}
