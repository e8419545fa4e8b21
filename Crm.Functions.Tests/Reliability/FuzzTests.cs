using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
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
            ("Parse:Store", "sqlite")));
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
                else if (status >= 400 && fuzz.Method != "HEAD" && !KestrelProtocolRefusal(fuzz, status, body) && !ErrorBodyOk(fuzz.IsGraphQL, body)) { Interlocked.Increment(ref badBodies); problem = "4xx body is not an error object"; }
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
        // Faults first: they matter most when a run finds many problems.
        foreach (var failure in failures.OrderBy(f => f.Contains(" 5xx", StringComparison.Ordinal) ? 0 : f.Contains(" dropped", StringComparison.Ordinal) ? 1 : 2).Take(60))
            output.WriteLine(failure);

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

/// <summary>One generated request, kept as plain data so a failure can be described and replayed.</summary>
internal sealed record FuzzRequest(string Method, string Url, byte[]? Body, string ContentType, List<KeyValuePair<string, string>> Headers, bool IsGraphQL)
{
    public HttpRequestMessage ToHttp()
    {
        var request = new HttpRequestMessage(new HttpMethod(Method), Url);
        foreach (var (name, value) in Headers) request.Headers.TryAddWithoutValidation(name, value);
        if (Body is not null)
        {
            request.Content = new ByteArrayContent(Body);
            if (MediaTypeHeaderValue.TryParse(ContentType, out var type)) request.Content.Headers.ContentType = type;
            else request.Content.Headers.TryAddWithoutValidation("Content-Type", ContentType);
        }
        return request;
    }

    public string Describe()
    {
        var body = Body is null ? "" : " body " + (Body.Length > 200 ? Encoding.UTF8.GetString(Body, 0, 200) + $"… ({Body.Length} bytes)" : Encoding.UTF8.GetString(Body));
        var url = Url.Length > 200 ? Url[..200] + $"… ({Url.Length} chars)" : Url;
        var headers = string.Join("; ", Headers.Where(h => h.Key != "X-Parse-Application-Id" || h.Value != CrmServer.AppId).Select(h => $"{h.Key}: {(h.Value.Length > 60 ? h.Value[..60] + "…" : h.Value)}"));
        return $"{Method} {url} [{headers}]{body}";
    }
}

/// <summary>The generator: each call picks a route family and a kind of hostility.</summary>
internal sealed class HostileRequests(FuzzWorld world)
{
    private static readonly string[] WeirdNames =
    [
        "a.b", "$where", "_rperm", "_wperm", "_hashed_password", "authData", "_auth_data_facebook", "_acl", "_id", "__proto__",
        "constructor", "'; DROP TABLE \"Fuzz\"; --", "a\"b", "a'b", "../../etc/passwd", "..%2F..%2Fetc", "", " ", "\u0000", "x\u0000y",
        "ÿ", "😀", "a/b", "a\\b", "%00", "objectId", "createdAt", "updatedAt", "ACL", "_session_token", "_email_verify_token",
        "sessionToken", "password", "_User", "_Session", "_Role", "_Installation", "_SCHEMA", "sqlite_master", "classes",
        new string('x', 300), "1abc", "a-b", "a b", "select", "null", "true",
    ];

    private static readonly string[] Operators =
    [
        "$lt", "$lte", "$gt", "$gte", "$ne", "$in", "$nin", "$exists", "$select", "$dontSelect", "$inQuery", "$notInQuery", "$all",
        "$regex", "$options", "$text", "$search", "$near", "$maxDistance", "$within", "$box", "$geoWithin", "$polygon", "$centerSphere",
        "$geoIntersects", "$point", "$relatedTo", "$or", "$and", "$nor", "$eq", "$containedBy", "$containsAll", "$elemMatch",
        "$where", "$expr", "$foo", "$", "$$", "$eq.x", "$size", "$type", "$mod", "$not",
    ];

    private static readonly string[] OpNames =
    [
        "Increment", "Add", "AddUnique", "Remove", "Delete", "AddRelation", "RemoveRelation", "Batch", "SetOnInsert", "Frobnicate", "",
        "increment", "__proto__",
    ];

    private static readonly string[] TypeNames =
    [
        "Date", "Pointer", "Relation", "File", "GeoPoint", "Polygon", "Bytes", "Object", "Unknown", "", "Array", "ACL", "__proto__",
    ];

    private static readonly string[] BadDates =
    [
        "", "yesterday", "2024-13-45T25:61:61.000Z", "0000-00-00T00:00:00Z", "9999999-01-01T00:00:00Z", "-271821-04-20T00:00:00Z",
        "2024-02-30T00:00:00.000Z", "2024-01-01T00:00:00.000+99:00", "1e400", "2024-01-01",
    ];

    private static readonly string[] RegexBombs =
    [
        "(a+)+$", "(a|aa)+$", "(a|a?)+$", "(.*a){20}$", "^(([a-z])+.)+[A-Z]([a-z])+$", "(?=(a+)+$)a", "(a+)+(?<=b)", "(\\w+\\s?)+$",
        "(?:a|a)*(?=b)", "((a+)+)+\\1$", "[", "(", "\\", "a{99999999}", "(?<x>a)\\k<y>", "\\Q(a+)+$", "\\Qabc\\E(a+)+$", "(?R)",
    ];

    public FuzzRequest Make(Random rng)
    {
        var kind = rng.Next(100);
        return kind switch
        {
            < 14 => ObjectWrite(rng),
            < 28 => Query(rng),
            < 36 => ObjectById(rng),
            < 44 => Batch(rng),
            < 48 => Schemas(rng),
            < 56 => Users(rng),
            < 60 => Functions(rng),
            < 70 => GraphQL(rng),
            < 78 => Envelope(rng),
            < 86 => BrokenBody(rng),
            < 90 => Oversized(rng),
            < 95 => WeirdHeaders(rng),
            _ => Misc(rng),
        };
    }

    // ---- building blocks -------------------------------------------------------------------------------------

    private List<KeyValuePair<string, string>> Auth() =>
    [
        new("X-Parse-Application-Id", CrmServer.AppId),
        new("X-Parse-Session-Token", world.AttackerToken),
    ];

    private FuzzRequest Json(string method, string url, JsonNode? body, List<KeyValuePair<string, string>>? headers = null) =>
        new(method, url, body is null ? null : Encoding.UTF8.GetBytes(body.ToJsonString()), "application/json", headers ?? Auth(), false);

    private static FuzzRequest Raw(string method, string url, byte[]? body, string contentType, List<KeyValuePair<string, string>> headers, bool graphQL = false) =>
        new(method, url, body, contentType, headers, graphQL);

    private static T Pick<T>(Random rng, IReadOnlyList<T> items) => items[rng.Next(items.Count)];

    private static string Enc(string s) => Uri.EscapeDataString(s);

    private static string ClassName(Random rng) => rng.Next(10) switch
    {
        < 5 => FuzzWorld.ClassName,
        5 => FuzzWorld.PrivateClass,
        6 => Pick(rng, ["_User", "_Session", "_Role", "_Installation", "_SCHEMA", "_Join:r:Fuzz", "_Audience", "_PushStatus"]),
        _ => Pick(rng, WeirdNames),
    };

    private string ObjectId(Random rng) => rng.Next(8) switch
    {
        < 3 => Pick(rng, world.VictimObjects),
        3 => Pick(rng, world.PublicObjects),
        4 => Pick(rng, world.VictimSecrets),
        5 => world.VictimId,
        _ => Pick(rng, WeirdNames),
    };

    private static string FieldName(Random rng) => rng.Next(3) == 0 ? Pick(rng, WeirdNames) : Pick(rng, FuzzWorld.Fields).Name;

    /// <summary>A value that is wrong for most fields: every JSON kind, typed objects with bad contents, operators.</summary>
    private JsonNode? Value(Random rng, int depth = 0)
    {
        switch (rng.Next(depth > 2 ? 12 : 22))
        {
            case 0: return null;
            case 1: return rng.Next(2) == 0;
            case 2: return Pick(rng, new JsonNode[] { 0, -1, 1.5, int.MaxValue, long.MinValue, 1e308, -1e308, double.Epsilon });
            case 3: return Pick(rng, WeirdNames);
            case 4: return Pick(rng, BadDates);
            case 5: return new string('z', rng.Next(0, 5000));
            case 6: return new JsonObject { ["__type"] = "Date", ["iso"] = rng.Next(3) == 0 ? Value(rng, depth + 1) : Pick(rng, BadDates) };
            case 7: return new JsonObject { ["__type"] = "Pointer", ["className"] = rng.Next(2) == 0 ? "_User" : ClassName(rng) };
            case 8: return new JsonObject { ["__type"] = "Pointer", ["className"] = Pick(rng, new[] { "_User", FuzzWorld.ClassName }), ["objectId"] = rng.Next(2) == 0 ? ObjectId(rng) : Value(rng, depth + 1) };
            case 9: return new JsonObject { ["__type"] = Pick(rng, TypeNames), ["value"] = Value(rng, depth + 1) };
            case 10: return new JsonObject { ["__op"] = Pick(rng, OpNames), ["amount"] = Value(rng, depth + 1), ["objects"] = Value(rng, depth + 1) };
            case 11: return new JsonArray(Enumerable.Range(0, rng.Next(4)).Select(_ => Value(rng, depth + 1)).ToArray());
            case 12: return new JsonObject { ["__type"] = "GeoPoint", ["latitude"] = Value(rng, depth + 1), ["longitude"] = Pick(rng, new JsonNode[] { 500, -181, "x", 0 }) };
            case 13: return new JsonObject { ["__type"] = "File", ["name"] = rng.Next(2) == 0 ? Value(rng, depth + 1) : Pick(rng, WeirdNames), ["url"] = Value(rng, depth + 1) };
            case 14: return new JsonObject { ["__type"] = "Bytes", ["base64"] = Pick(rng, new JsonNode?[] { "!!!notbase64", 12, null, "QUJD" }) };
            case 15: return new JsonObject { ["__type"] = "Polygon", ["coordinates"] = Pick(rng, new JsonNode?[] { new JsonArray(1, 2), "x", new JsonArray(new JsonArray(1, 2)), null }) };
            case 16: return new JsonObject { ["__type"] = "Relation", ["className"] = Value(rng, depth + 1) };
            case 17: return new JsonObject { ["__op"] = "AddRelation", ["objects"] = new JsonArray(new JsonObject { ["__type"] = "Pointer", ["className"] = ClassName(rng), ["objectId"] = ObjectId(rng) }) };
            case 18: return new JsonObject { ["__op"] = "Batch", ["ops"] = new JsonArray(Value(rng, depth + 1), Value(rng, depth + 1)) };
            case 19: return new JsonObject { [Pick(rng, WeirdNames)] = Value(rng, depth + 1), [Pick(rng, Operators)] = Value(rng, depth + 1) };
            case 20: return Acl(rng);
            default: return new JsonObject { ["__op"] = "Increment", ["amount"] = Pick(rng, new JsonNode?[] { 1e308, "1", null, new JsonArray(), -9007199254740993 }) };
        }
    }

    private JsonNode Acl(Random rng) => rng.Next(4) switch
    {
        0 => new JsonObject { ["*"] = new JsonObject { ["read"] = true, ["write"] = true } },
        1 => new JsonObject { [world.AttackerId] = new JsonObject { ["read"] = "yes", ["write"] = 1 } },
        2 => new JsonObject { ["role:" + Pick(rng, WeirdNames)] = new JsonObject { ["read"] = true } },
        _ => Value(rng, 3) ?? "null",
    };

    private JsonObject WrongTypedObject(Random rng)
    {
        var body = new JsonObject();
        var n = rng.Next(1, 6);
        for (var i = 0; i < n; i++)
        {
            var name = FieldName(rng);
            if (!body.ContainsKey(name)) body[name] = Value(rng);
        }
        if (rng.Next(5) == 0) body["ACL"] = Acl(rng);
        if (rng.Next(6) == 0) body[Pick(rng, new[] { "_rperm", "_wperm", "_hashed_password", "authData", "objectId", "createdAt", "_id" })] = Value(rng);
        return body;
    }

    private JsonNode Where(Random rng, int depth = 0)
    {
        var where = new JsonObject();
        var n = rng.Next(1, 4);
        for (var i = 0; i < n; i++)
        {
            var pick = rng.Next(depth > 2 ? 6 : 10);
            string key;
            JsonNode? value;
            switch (pick)
            {
                case < 3:
                    key = FieldName(rng);
                    value = new JsonObject { [Pick(rng, Operators)] = Value(rng, 2) };
                    break;
                case 3:
                    key = FieldName(rng);
                    value = Value(rng, 1);
                    break;
                case 4:
                    key = Pick(rng, new[] { "s", "tag", FieldName(rng) });
                    value = new JsonObject { ["$regex"] = Pick(rng, RegexBombs), ["$options"] = Pick(rng, new JsonNode?[] { "i", "imxs", "z", 5, null, "" }) };
                    break;
                case 5:
                    key = Pick(rng, new[] { "$or", "$and", "$nor" });
                    value = Value(rng, 2);
                    break;
                default:
                    key = Pick(rng, new[] { "$or", "$and", "$nor" });
                    value = new JsonArray(Enumerable.Range(0, rng.Next(0, 3)).Select(_ => (JsonNode?)Where(rng, depth + 1)).ToArray());
                    break;
            }
            where[key] = value;
        }
        return where;
    }

    private static string QueryValue(Random rng) => rng.Next(12) switch
    {
        0 => "-1",
        1 => "-999999999999",
        2 => "99999999999999999999999",
        3 => "1e400",
        4 => "abc",
        5 => "1.5",
        6 => "null",
        7 => "[]",
        8 => "{}",
        9 => "",
        10 => "0x10",
        _ => "NaN",
    };

    private static string IncludeChain(Random rng, int depth) =>
        string.Join('.', Enumerable.Range(0, depth).Select(_ => Pick(rng, new[] { "p", "self", "r", "a", "o", "x" })));

    // ---- route families --------------------------------------------------------------------------------------

    private FuzzRequest ObjectWrite(Random rng)
    {
        var className = ClassName(rng);
        return rng.Next(3) switch
        {
            0 => Json("POST", $"parse/classes/{Enc(className)}", WrongTypedObject(rng)),
            1 => Json("PUT", $"parse/classes/{Enc(className)}/{Enc(ObjectId(rng))}", WrongTypedObject(rng)),
            _ => Json("PUT", $"parse/classes/{FuzzWorld.ClassName}/{Pick(rng, world.PublicObjects)}", WrongTypedObject(rng)),
        };
    }

    private FuzzRequest ObjectById(Random rng)
    {
        var className = ClassName(rng);
        var id = ObjectId(rng);
        return rng.Next(4) switch
        {
            0 => Json("GET", $"parse/classes/{Enc(className)}/{Enc(id)}?include={Enc(IncludeChain(rng, rng.Next(1, 25)))}&keys={Enc(Pick(rng, WeirdNames))}", null),
            1 => Json("DELETE", $"parse/classes/{Enc(className)}/{Enc(id)}", null),
            2 => Json("GET", $"parse/classes/{Enc(className)}/{Enc(id)}", null),
            _ => Json("GET", $"parse/users/{Enc(rng.Next(2) == 0 ? world.VictimId : Pick(rng, WeirdNames))}", null),
        };
    }

    private FuzzRequest Query(Random rng)
    {
        var className = rng.Next(3) == 0 ? ClassName(rng) : FuzzWorld.ClassName;
        var parameters = new List<string>();
        switch (rng.Next(10))
        {
            case 0: // $or with thousands of branches (as JS SDK POST with _method GET: too long for a URL)
            {
                var branches = new JsonArray(Enumerable.Range(0, rng.Next(101, 3000)).Select(i => (JsonNode)new JsonObject { ["n"] = i }).ToArray());
                return Json("POST", $"parse/classes/{Enc(className)}", new JsonObject { ["_method"] = "GET", ["where"] = new JsonObject { ["$or"] = branches } });
            }
            case 1: // $in with 50,000 values
            {
                var values = new JsonArray(Enumerable.Range(0, 50_000).Select(i => (JsonNode)i).ToArray());
                return Json("POST", $"parse/classes/{Enc(className)}", new JsonObject { ["_method"] = "GET", ["where"] = new JsonObject { ["n"] = new JsonObject { [Pick(rng, new[] { "$in", "$nin", "$all", "$containedBy" })] = values } } });
            }
            case 2: // catastrophic backtracking on long public strings
                parameters.Add("where=" + Enc(new JsonObject { ["s"] = new JsonObject { ["$regex"] = Pick(rng, RegexBombs), ["$options"] = rng.Next(2) == 0 ? "i" : "" } }.ToJsonString()));
                break;
            case 3: // deep include chains
                parameters.Add("include=" + Enc(IncludeChain(rng, rng.Next(6, 21))));
                break;
            case 4: // where not an object / not JSON / deeply nested
                parameters.Add("where=" + Enc(Pick(rng, new[] { "[]", "1", "\"x\"", "{", "null", "{\"$or\":{}}", new string('[', 5000), string.Concat(Enumerable.Repeat("{\"$and\":[", 40)) + "{}" + string.Concat(Enumerable.Repeat("]}", 40)) })));
                break;
            default:
                parameters.Add("where=" + Enc(Where(rng).ToJsonString()));
                break;
        }
        if (rng.Next(2) == 0) parameters.Add("limit=" + Enc(QueryValue(rng)));
        if (rng.Next(3) == 0) parameters.Add("skip=" + Enc(QueryValue(rng)));
        if (rng.Next(4) == 0) parameters.Add("count=" + Enc(Pick(rng, new[] { "1", "true", "yes", "-1", "{}" })));
        if (rng.Next(4) == 0) parameters.Add("order=" + Enc(Pick(rng, new[] { "-n", "s,-b", Pick(rng, WeirdNames), "-" + Pick(rng, WeirdNames), "$score", ",,,", "n," + new string('a', 500) })));
        if (rng.Next(4) == 0) parameters.Add("keys=" + Enc(Pick(rng, WeirdNames) + "," + FieldName(rng)));
        if (rng.Next(5) == 0) parameters.Add("excludeKeys=" + Enc(Pick(rng, WeirdNames)));
        if (rng.Next(6) == 0) parameters.Add(Enc(Pick(rng, new[] { "redirectClassNameForKey", "readPreference", "hint", "explain", "includeAll", "subqueryReadPreference", "$where" })) + "=" + Enc(Pick(rng, WeirdNames)));
        if (rng.Next(8) == 0) parameters.Add("where=" + Enc("{}")); // the same parameter twice
        return Json("GET", $"parse/classes/{Enc(className)}?{string.Join('&', parameters)}", null);
    }

    private FuzzRequest Batch(Random rng)
    {
        JsonNode? requests;
        switch (rng.Next(6))
        {
            case 0:
                requests = Value(rng);
                break;
            case 1:
                requests = new JsonArray(Enumerable.Range(0, rng.Next(51, 200)).Select(_ => (JsonNode)new JsonObject { ["method"] = "GET", ["path"] = "/parse/classes/Fuzz" }).ToArray());
                break;
            default:
                var list = new JsonArray();
                for (var i = rng.Next(1, 8); i > 0; i--)
                {
                    list.Add(new JsonObject
                    {
                        ["method"] = rng.Next(4) == 0 ? Value(rng, 2) : Pick(rng, new[] { "GET", "POST", "PUT", "DELETE", "PATCH", "get", "" }),
                        ["path"] = rng.Next(4) == 0 ? Value(rng, 2) : Pick(rng, new[]
                        {
                            "/parse/classes/Fuzz", $"/parse/classes/Fuzz/{ObjectId(rng)}", $"/parse/classes/{Enc(ClassName(rng))}", "/parse/batch",
                            "/parse/schemas", "/parse/login", "/parse/users/me", "/other/classes/Fuzz", "classes/Fuzz", "/parse/../parse/classes/Fuzz",
                            $"/parse/classes/{FuzzWorld.PrivateClass}/{Pick(rng, world.VictimSecrets)}", "/parse/purge/Fuzz", "",
                        }),
                        ["body"] = rng.Next(3) == 0 ? Value(rng, 1) : WrongTypedObject(rng),
                    });
                }
                requests = list;
                break;
        }
        var body = new JsonObject { ["requests"] = requests };
        if (rng.Next(5) == 0) body["transaction"] = Value(rng, 2);
        return Json("POST", "parse/batch", body);
    }

    private FuzzRequest Schemas(Random rng) => rng.Next(4) switch
    {
        0 => Json("GET", $"parse/schemas/{Enc(ClassName(rng))}", null),
        1 => Json("POST", $"parse/schemas/{Enc(ClassName(rng))}", new JsonObject { ["fields"] = new JsonObject { [FieldName(rng)] = new JsonObject { ["type"] = Pick(rng, TypeNames) } } }),
        2 => Json("PUT", $"parse/schemas/{Enc(ClassName(rng))}", new JsonObject { ["classLevelPermissions"] = Value(rng, 1) }),
        _ => Json("DELETE", $"parse/{Pick(rng, new[] { "schemas", "purge" })}/{Enc(ClassName(rng))}", null),
    };

    private FuzzRequest Users(Random rng)
    {
        switch (rng.Next(9))
        {
            case 0: return Json("POST", "parse/login", new JsonObject { ["username"] = rng.Next(3) == 0 ? world.AttackerUser : Value(rng, 1), ["password"] = Value(rng, 1) });
            case 1: return Json("GET", $"parse/login?username={Enc(Pick(rng, WeirdNames))}&password={Enc(QueryValue(rng))}", null);
            case 2: return Json("POST", "parse/users", new JsonObject { ["username"] = rng.Next(2) == 0 ? Value(rng, 1) : Wire.Unique("u"), ["password"] = Value(rng, 1), ["email"] = Value(rng, 2), ["authData"] = Value(rng, 1) });
            case 3: return Json("PUT", $"parse/users/{Enc(rng.Next(2) == 0 ? world.VictimId : world.AttackerId)}", WrongTypedObject(rng));
            case 4: return Json("GET", "parse/sessions/me", null, [new("X-Parse-Application-Id", CrmServer.AppId), new("X-Parse-Session-Token", Pick(rng, new[] { "r:forged", "", "r:" + new string('0', 32), Pick(rng, WeirdNames) }))]);
            case 5: return Json("POST", "parse/sessions", WrongTypedObject(rng));
            case 6: return Json("POST", "parse/logout", null, [new("X-Parse-Application-Id", CrmServer.AppId), new("X-Parse-Session-Token", "r:not-a-session-" + rng.Next())]);
            case 7: return Json("POST", Pick(rng, new[] { "parse/verifyPassword", "parse/loginAs", "parse/requestPasswordReset", "parse/verificationEmailRequest", "parse/upgradeToRevocableSession" }), new JsonObject { ["username"] = Value(rng, 1), ["password"] = Value(rng, 1), ["userId"] = world.VictimId, ["email"] = Value(rng, 2) });
            default: return Json(Pick(rng, new[] { "GET", "DELETE", "PUT" }), $"parse/{Pick(rng, new[] { "sessions", "roles", "installations" })}/{Enc(Pick(rng, WeirdNames))}", rng.Next(2) == 0 ? null : WrongTypedObject(rng));
        }
    }

    private FuzzRequest Functions(Random rng) =>
        Json(rng.Next(2) == 0 ? "POST" : "GET", $"parse/{Pick(rng, new[] { "functions", "jobs", "hooks/functions", "config", "serverInfo", "push", "files" })}/{Enc(Pick(rng, WeirdNames))}",
            rng.Next(3) == 0 ? null : WrongTypedObject(rng));

    private FuzzRequest GraphQL(Random rng)
    {
        var headers = Auth();
        string query = rng.Next(12) switch
        {
            0 => "{ " + string.Concat(Enumerable.Repeat("fuzzs { edges { node { self { ", 60)) + "objectId" + new string('}', 60 * 4) + " }",
            1 => "{ health " + new string('{', rng.Next(1, 3000)),
            2 => "query { " + string.Join(" ", Enumerable.Range(0, 3000).Select(i => $"a{i}: health")) + " }",
            3 => "mutation { createFuzz(input: { fields: { n: \"not a number\", d: \"" + Pick(rng, BadDates) + "\" } }) { fuzz { objectId } } }",
            4 => $"{{ fuzzs(where: {{ s: {{ matchesRegex: \"{Pick(rng, RegexBombs).Replace("\\", "\\\\", StringComparison.Ordinal)}\" }} }}) {{ count }} }}",
            5 => $"{{ fuzzs(first: {Pick(rng, new[] { "-1", "1000000000", "\"x\"", "1e400", "null" })}, skip: {Pick(rng, new[] { "-5", "99999999999", "0" })}) {{ count }} }}",
            6 => $"mutation {{ updateFuzz(input: {{ id: \"{Pick(rng, world.VictimObjects)}\", fields: {{ s: \"pwned\" }} }}) {{ fuzz {{ objectId }} }} }}",
            7 => $"mutation {{ deleteSecret(input: {{ id: \"{Pick(rng, world.VictimSecrets)}\" }}) {{ secret {{ objectId }} }} }}",
            8 => "{ __schema { types { name fields { name type { name ofType { name ofType { name } } } } } } }",
            9 => $"{{ node(id: \"{Pick(rng, WeirdNames).Replace("\"", "", StringComparison.Ordinal)}\") {{ id }} }}",
            10 => "mutation { logIn(input: { username: \"" + world.AttackerUser + "\", password: \"wrong\" }) { viewer { sessionToken } } }",
            _ => Pick(rng, WeirdNames),
        };
        JsonNode body = rng.Next(6) switch
        {
            0 => new JsonObject { ["query"] = Value(rng, 1) },
            1 => new JsonObject { ["query"] = query, ["variables"] = Value(rng, 1), ["operationName"] = Value(rng, 2) },
            2 => new JsonArray(new JsonObject { ["query"] = query }, new JsonObject { ["query"] = "{ health }" }),
            _ => new JsonObject { ["query"] = query },
        };
        // GET only for queries that fit a URL (the POST cases cover the huge ones).
        if (rng.Next(8) == 0 && query.Length < 4000)
            return Raw("GET", $"graphql?query={Enc(query)}&variables={Enc(QueryValue(rng))}", null, "application/json", headers, graphQL: true);
        var bytes = Encoding.UTF8.GetBytes(body.ToJsonString());
        if (rng.Next(6) == 0) bytes = bytes[..rng.Next(bytes.Length)];
        return Raw("POST", "graphql", bytes, Pick(rng, new[] { "application/json", "application/json", "text/plain", "application/graphql", "multipart/form-data" }), headers, graphQL: true);
    }

    /// <summary>The JS SDK's envelope: a text/plain JSON body carrying method and credentials, here forged.</summary>
    private FuzzRequest Envelope(Random rng)
    {
        var body = rng.Next(3) == 0 ? WrongTypedObject(rng) : new JsonObject();
        body["_method"] = rng.Next(4) == 0 ? Value(rng, 2) : Pick(rng, new[] { "GET", "PUT", "DELETE", "PATCH", "TRACE", "get", "" });
        body["_ApplicationId"] = rng.Next(5) == 0 ? Value(rng, 2) : CrmServer.AppId;
        body["_SessionToken"] = rng.Next(3) == 0 ? Value(rng, 2) : world.AttackerToken;
        if (rng.Next(2) == 0) body["_MasterKey"] = rng.Next(3) == 0 ? Value(rng, 2) : Pick(rng, new[] { "forged-master-key", "", CrmServer.AppId, "test-master-key-012345678" });
        if (rng.Next(3) == 0) body["_InstallationId"] = Value(rng, 2);
        if (rng.Next(3) == 0) body["_ClientVersion"] = Value(rng, 2);
        if (rng.Next(3) == 0) body["where"] = Where(rng);
        var path = Pick(rng, new[]
        {
            $"parse/classes/{FuzzWorld.ClassName}", $"parse/classes/{FuzzWorld.PrivateClass}/{Pick(rng, world.VictimSecrets)}",
            $"parse/classes/{FuzzWorld.ClassName}/{Pick(rng, world.VictimObjects)}", "parse/schemas", $"parse/users/{world.VictimId}",
            "parse/batch", "parse/functions/x", "parse/sessions", $"parse/purge/{FuzzWorld.PrivateClass}", $"parse/schemas/{FuzzWorld.PrivateClass}",
        });
        // No headers at all: the body is all the credentials, as the JS SDK sends them.
        return Raw("POST", path, Encoding.UTF8.GetBytes(body.ToJsonString()), "text/plain", []);
    }

    private FuzzRequest BrokenBody(Random rng)
    {
        var path = Pick(rng, new[] { $"parse/classes/{FuzzWorld.ClassName}", "parse/batch", "parse/login", "parse/users", $"parse/classes/{FuzzWorld.ClassName}/{Pick(rng, world.PublicObjects)}", "parse/functions/x", "parse/schemas/Fuzz", "graphql" });
        var method = path.Contains("/classes/Fuzz/", StringComparison.Ordinal) ? "PUT" : "POST";
        var valid = Encoding.UTF8.GetBytes(WrongTypedObject(rng).ToJsonString());
        byte[] body = rng.Next(9) switch
        {
            0 => valid[..rng.Next(valid.Length)], // truncated
            1 => [.. valid[..(valid.Length / 2)], 0xC3, 0x28, 0xFF, 0xFE, .. valid[(valid.Length / 2)..]], // invalid UTF-8 between tokens
            2 => [.. "{\"s\":\""u8.ToArray(), 0xED, 0xA0, 0x80, 0xC0, 0xAF, 0xF8, .. "\"}"u8.ToArray()], // invalid UTF-8 inside a string
            3 => Encoding.UTF8.GetBytes("{\"s\":\"\\ud800\\udc00\\ud800\",\"n\":1}"), // lone surrogate escape
            4 => Encoding.UTF8.GetBytes(new string('[', 100_000) + new string(']', 100_000)), // 100,000-deep nesting
            5 => Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"a\":", 100_000)) + "1" + new string('}', 100_000)),
            6 => Encoding.UTF8.GetBytes(Pick(rng, new[] { "null", "[]", "1", "\"s\"", "true", "{\"a\":1,\"a\":2}", "{\"a\":1}{\"b\":2}", "{'a':1}", "{\"a\":NaN}", "\u0000", "{\"a\":01}", "{\"a\":1,}" })),
            7 => [.. valid, .. new byte[rng.Next(1, 50)]], // trailing NULs
            _ => [0xEF, 0xBB, 0xBF, .. valid], // BOM
        };
        var contentType = Pick(rng, new[] { "application/json", "text/plain", "application/x-www-form-urlencoded", "application/octet-stream", "application/json; charset=latin1", "garbage" });
        var headers = Auth();
        if (method == "POST" && path == "parse/login") headers.RemoveAt(1);
        return Raw(method, path, body, contentType, headers, graphQL: path == "graphql");
    }

    private FuzzRequest Oversized(Random rng)
    {
        var headers = Auth();
        switch (rng.Next(4))
        {
            case 0: // headers over MaxRequestHeadersBytes (16 KiB in this run)
                headers.Add(new("X-Junk", new string('h', rng.Next(16_500, 24_000))));
                return Raw("GET", $"parse/classes/{FuzzWorld.ClassName}", null, "application/json", headers);
            case 1: // a long URL
                return Raw("GET", $"parse/classes/{FuzzWorld.ClassName}?where={Enc("{\"s\":\"" + new string('u', rng.Next(9_000, 30_000)) + "\"}")}", null, "application/json", headers);
            case 2: // a body just over MaxBodyBytes (1 MiB in this run)
                return Raw("POST", $"parse/classes/{FuzzWorld.ClassName}", Encoding.UTF8.GetBytes("{\"s\":\"" + new string('b', 1024 * 1024 + rng.Next(1, 2000)) + "\"}"), "application/json", headers);
            default: // a large but allowed string field
                return Json("POST", $"parse/classes/{FuzzWorld.ClassName}", new JsonObject { ["s"] = new string('c', rng.Next(100_000, 500_000)), ["tag"] = "big" });
        }
    }

    private FuzzRequest WeirdHeaders(Random rng)
    {
        var headers = new List<KeyValuePair<string, string>>();
        if (rng.Next(4) != 0) headers.Add(new("X-Parse-Application-Id", rng.Next(4) == 0 ? Pick(rng, WeirdNames) : CrmServer.AppId));
        headers.Add(new(Pick(rng, new[] { "X-Parse-Session-Token", "X-Parse-Master-Key", "Authorization", "X-Parse-Installation-Id", "X-Parse-Revocable-Session", "X-Forwarded-For", "X-Parse-Client-Key", "X-Parse-REST-API-Key" }),
            Pick(rng, new[] { "Bearer " + Pick(rng, WeirdNames), "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("crm:javascript-key=x")), "Basic !!!", "r:" + rng.Next(), world.AttackerToken, "", "1.2.3.4, 127.0.0.1", new string('k', 4000) })));
        if (rng.Next(2) == 0) headers.Add(new("X-Parse-Session-Token", world.AttackerToken));
        var path = Pick(rng, new[] { $"parse/classes/{FuzzWorld.ClassName}", $"parse/classes/{FuzzWorld.PrivateClass}/{Pick(rng, world.VictimSecrets)}", "parse/users/me", "parse/schemas", "parse/serverInfo", "graphql" });
        var method = Pick(rng, new[] { "GET", "POST", "DELETE", "PUT", "OPTIONS", "HEAD", "PATCH" });
        if (path == "graphql" && method is not ("GET" or "POST")) method = "POST";
        var body = method is "GET" or "HEAD" or "OPTIONS" ? null : Encoding.UTF8.GetBytes(path == "graphql" ? "{\"query\":\"{ health }\"}" : WrongTypedObject(rng).ToJsonString());
        return Raw(method, path, body, "application/json", headers, graphQL: path == "graphql");
    }

    private FuzzRequest Misc(Random rng)
    {
        var path = Pick(rng, new[]
        {
            "parse", "parse/", "parse//classes//Fuzz", "parse/classes", "parse/classes/", "parse/classes/Fuzz/", "parse/classes/Fuzz/a/b/c",
            "parse/%2e%2e/%2e%2e/etc/passwd", "parse/classes/Fuzz%00", "parse/health", "parse/serverInfo", "parse/aggregate/Fuzz",
            "parse/classes/Fuzz?where=%ZZ", "parse/classes/Fuzz?%%%", "parse/classes/Fuzz?where", "parse/files/x.txt", "parse/users/me",
            "parse/classes/%E2%80%AE", "parse/classes/%C0%AF", "parse/classes/Fuzz?limit=1&limit=2", "parse/roles", "parse/installations",
        });
        var method = Pick(rng, new[] { "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "PROPFIND" });
        return Raw(method, path, method is "GET" or "HEAD" ? null : Encoding.UTF8.GetBytes(WrongTypedObject(rng).ToJsonString()), "application/json", Auth());
    }
}
