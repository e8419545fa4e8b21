using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Reliability;

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

    /// <summary>
    /// JSON texts as they arrive in a URL parameter or a batch path's query string: JSON escapes of lone surrogates,
    /// duplicate keys, deep nesting, numbers out of range, and text that only looks like JSON.
    /// </summary>
    private static readonly string[] HostileJsonTexts =
    [
        "{\"s\":\"\\ud800\"}", "{\"s\":\"\\udfff\\ud800\"}", "{\"\\ud800\":1}", "{\"s\":{\"$regex\":\"\\ud800\"}}", "{\"s\":{\"$in\":[\"\\udc00\"]}}",
        "\"\\ud800\"", "[\"\\ud800\"]", "{\"s\":1,\"s\":2}", "{\"n\":1e400}", "{\"n\":-0}", "{\"n\":{\"$gt\":\"\\u0000\"}}", "{", "{\"s\":}", "[1,",
        "-", "-x", "1x", "\"unterminated", "tru", "nul", "{\"$or\":[{\"s\":\"\\ud800\"}]}", "{\"p\":{\"__type\":\"Pointer\",\"className\":\"\\ud800\",\"objectId\":\"x\"}}",
        "{\"s\":{\"$select\":{\"query\":{\"className\":\"\\ud800\"},\"key\":\"s\"}}}",
        string.Concat(Enumerable.Repeat("{\"$and\":[", 70)) + "{}" + string.Concat(Enumerable.Repeat("]}", 70)),
        new string('[', 200) + new string(']', 200), "\\ud800x", "%ud800", "{\"s\":\"\\udbff\"}",
    ];

    public FuzzRequest Make(Random rng)
    {
        var kind = rng.Next(100);
        return kind switch
        {
            < 11 => ObjectWrite(rng),
            < 22 => Query(rng),
            < 30 => QueryString(rng),
            < 36 => ObjectById(rng),
            < 43 => Batch(rng),
            < 46 => Schemas(rng),
            < 53 => Users(rng),
            < 54 => Functions(rng),
            < 56 => Aggregate(rng),
            < 63 => GraphQL(rng),
            < 68 => GraphQLVariables(rng),
            < 75 => Envelope(rng),
            < 82 => BrokenBody(rng),
            < 86 => Oversized(rng),
            < 93 => WeirdHeaders(rng),
            < 97 => Mcp(rng),
            _ => Misc(rng),
        };
    }

    /// <summary>
    /// The MCP door: JSON-RPC with wrong shapes, unknown methods and tools, hostile arguments and writes aimed at the
    /// victim's objects, as the attacker's bearer (or a forged one, or none, or the master key).
    /// </summary>
    private FuzzRequest Mcp(Random rng)
    {
        var tool = Pick(rng, new[] { "find", "get", "create", "update", "delete", "describe_schema", "pipeline_summary", Pick(rng, WeirdNames) });
        var args = rng.Next(4) == 0 ? WrongTypedObject(rng) : new JsonObject
        {
            ["className"] = Pick(rng, new[] { FuzzWorld.ClassName, FuzzWorld.PrivateClass, "_User", "_Session", "_SCHEMA", Pick(rng, WeirdNames) }),
            ["objectId"] = rng.Next(2) == 0 ? Pick(rng, world.VictimSecrets) : Pick(rng, world.VictimObjects),
            ["where"] = rng.Next(3) == 0 ? Value(rng, 2) : JsonNode.Parse(Pick(rng, HostileJsonTexts.Where(t => t.StartsWith('{') && IsJson(t)).ToArray())),
            ["fields"] = rng.Next(2) == 0 ? new JsonObject { ["s"] = "pwned", ["ACL"] = new JsonObject { ["*"] = new JsonObject { ["read"] = true } } } : Value(rng, 2),
            ["limit"] = Value(rng, 1),
        };
        JsonNode message = rng.Next(8) switch
        {
            0 => new JsonObject { ["jsonrpc"] = "2.0", ["id"] = Value(rng, 1), ["method"] = Value(rng, 1), ["params"] = Value(rng, 2) },
            1 => new JsonArray(new JsonObject { ["jsonrpc"] = "2.0", ["id"] = 1, ["method"] = "tools/list" }, new JsonObject { ["jsonrpc"] = "2.0", ["id"] = 2, ["method"] = "tools/call" }),
            2 => new JsonObject { ["jsonrpc"] = "2.0", ["id"] = 1, ["method"] = "initialize", ["params"] = new JsonObject { ["protocolVersion"] = Value(rng, 1), ["capabilities"] = Value(rng, 1) } },
            3 => new JsonObject { ["jsonrpc"] = "2.0", ["id"] = 1, ["method"] = Pick(rng, new[] { "resources/read", "prompts/get" }), ["params"] = new JsonObject { ["uri"] = Pick(rng, WeirdNames), ["name"] = Pick(rng, WeirdNames) } },
            _ => new JsonObject { ["jsonrpc"] = "2.0", ["id"] = rng.Next(), ["method"] = "tools/call", ["params"] = new JsonObject { ["name"] = tool, ["arguments"] = args } },
        };
        var headers = rng.Next(6) switch
        {
            0 => new List<KeyValuePair<string, string>>(),
            1 => [new("Authorization", "Bearer " + Pick(rng, new[] { "r:forged", "eyJhbGciOiJub25lIn0.e30.", Pick(rng, WeirdNames) }))],
            2 => [new("X-Parse-Master-Key", CrmServer.MasterKey)],
            _ => [new("Authorization", "Bearer " + world.AttackerToken)],
        };
        headers.Add(new("Accept", rng.Next(5) == 0 ? Pick(rng, new[] { "text/html", "*/*", "application/json" }) : "application/json, text/event-stream"));
        var bytes = Encoding.UTF8.GetBytes(message.ToJsonString());
        if (rng.Next(6) == 0) bytes = bytes[..rng.Next(bytes.Length)];
        var method = rng.Next(10) == 0 ? Pick(rng, new[] { "GET", "DELETE", "PUT" }) : "POST";
        return Raw(method, "mcp", method is "GET" or "DELETE" ? null : bytes, rng.Next(8) == 0 ? "text/plain" : "application/json", headers);
    }

    /// <summary>Hostile texts that are still JSON a client library can send (the rest go out as raw bodies elsewhere).</summary>
    private static bool IsJson(string text)
    {
        try { return JsonNode.Parse(text)?.ToJsonString() is not null; }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { return false; }
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
    internal JsonNode? Value(Random rng, int depth = 0)
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

    internal JsonNode Where(Random rng, int depth = 0)
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
                            $"/parse/classes/Fuzz?where={Enc(Pick(rng, HostileJsonTexts))}", $"/parse/classes/Fuzz?where={Enc(Where(rng).ToJsonString())}&limit={Enc(QueryValue(rng))}",
                            "/parse/classes/Fuzz?where=%ED%A0%80", "/parse/classes/Fuzz?where=%ZZ&order=%", $"/parse/classes/Fuzz?{Enc(Pick(rng, WeirdNames))}={Enc(Pick(rng, HostileJsonTexts))}",
                            $"/parse/classes/Fuzz/{Pick(rng, world.PublicObjects)}?include={Enc(IncludeChain(rng, rng.Next(1, 12)))}&keys={Enc(Pick(rng, HostileJsonTexts))}",
                            $"http://example.com/parse/classes/Fuzz?where={Enc(Pick(rng, HostileJsonTexts))}", "/parse/users?where=%7B%22s%22%3A%22%5Cud800%22%7D",
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
        switch (rng.Next(10))
        {
            case 8: return AccountPage(rng);
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

    /// <summary>The HTML account pages (apps/{appId}/…): hostile tokens, app ids, form bodies and content types.</summary>
    private static FuzzRequest AccountPage(Random rng)
    {
        var app = rng.Next(3) == 0 ? Enc(Pick(rng, WeirdNames)) : CrmServer.AppId;
        var page = Pick(rng, new[] { "request_password_reset", "choose_password", "verify_email" });
        var token = rng.Next(2) == 0 ? Enc(Pick(rng, WeirdNames)) : new string('A', 43);
        if (rng.Next(2) == 0) return Raw("GET", $"parse/apps/{app}/{page}?token={token}&token={Enc(QueryValue(rng))}", null, "text/plain", []);
        var fields = string.Join('&', Enumerable.Range(0, rng.Next(1, 6)).Select(_ =>
            $"{Pick(rng, new[] { "token", "new_password", "confirm_password", "email", Enc(Pick(rng, WeirdNames)) })}={Enc(rng.Next(4) == 0 ? new string('x', rng.Next(300, 5000)) : QueryValue(rng))}"));
        var contentType = Pick(rng, new[] { "application/x-www-form-urlencoded", "application/x-www-form-urlencoded", "multipart/form-data", "multipart/form-data; boundary=x", "application/json", "text/plain" });
        List<KeyValuePair<string, string>> headers = rng.Next(4) == 0 ? [new("Origin", Pick(rng, new[] { "null", "https://evil.example", "http://127.0.0.1", "%%%" }))] : [];
        return Raw("POST", $"parse/apps/{app}/{page}", Encoding.UTF8.GetBytes(fields), contentType, headers);
    }

    private FuzzRequest Functions(Random rng) =>
        Json(rng.Next(2) == 0 ? "POST" : "GET", $"parse/{Pick(rng, new[] { "functions", "jobs", "hooks/functions", "config", "serverInfo", "push", "files" })}/{Enc(Pick(rng, WeirdNames))}",
            rng.Next(3) == 0 ? null : WrongTypedObject(rng));

    /// <summary>
    /// /aggregate with hostile pipelines and distinct fields, half the time with the master key (the route is master-only,
    /// and only the master key reaches the pipeline parser and the stores' GROUP BY; it reads, so the victim's data stays).
    /// </summary>
    private FuzzRequest Aggregate(Random rng)
    {
        string Ref() => rng.Next(3) switch { 0 => "$" + FieldName(rng), 1 => "$" + Pick(rng, WeirdNames), _ => Pick(rng, new[] { "$_id", "$_created_at", "$_p_owner", "$amount", "$title" }) };
        JsonNode Stage() => rng.Next(8) switch
        {
            0 => new JsonObject { ["$match"] = Where(rng) },
            1 => new JsonObject { ["$group"] = new JsonObject { ["_id"] = rng.Next(3) == 0 ? new JsonObject { [Pick(rng, new[] { "$year", "$month", "$hour", "$where", "$function" })] = Ref() } : Ref(), [FieldName(rng)] = new JsonObject { [Pick(rng, new[] { "$sum", "$avg", "$min", "$max", "$count", "$push", "$accumulator" })] = rng.Next(2) == 0 ? Ref() : Value(rng, 1) } } },
            2 => new JsonObject { ["$sort"] = new JsonObject { [Pick(rng, WeirdNames)] = Value(rng, 1) } },
            3 => new JsonObject { [Pick(rng, new[] { "$skip", "$limit" })] = Value(rng, 1) },
            4 => new JsonObject { ["$project"] = new JsonObject { [Pick(rng, WeirdNames)] = Value(rng, 1) } },
            5 => new JsonObject { ["$count"] = Value(rng, 1) },
            6 => new JsonObject { [Pick(rng, new[] { "$lookup", "$out", "$merge", "$unionWith", "$where", "match" })] = Value(rng, 1) },
            _ => Value(rng, 2) ?? JsonValue.Create("null stage"),
        };
        var pipeline = new JsonArray([.. Enumerable.Range(0, rng.Next(5)).Select(_ => Stage())]);
        var query = rng.Next(3) == 0
            ? $"distinct={Enc(rng.Next(2) == 0 ? FieldName(rng) : Pick(rng, WeirdNames))}&where={Enc(Where(rng).ToJsonString())}"
            : $"pipeline={Enc(rng.Next(4) == 0 ? Pick(rng, HostileJsonTexts) : pipeline.ToJsonString())}";
        var headers = Auth();
        if (rng.Next(2) == 0) headers.Add(new("X-Parse-Master-Key", CrmServer.MasterKey));
        var className = rng.Next(4) == 0 ? ClassName(rng) : Pick(rng, new[] { FuzzWorld.ClassName, FuzzWorld.PrivateClass, "_User", "_Session", "_GlobalConfig" });
        return Json("GET", $"parse/aggregate/{Enc(className)}?{query}", null, headers);
    }

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
        if (rng.Next(4) == 0) body[Pick(rng, new[] { "_JavaScriptKey", "_ContentType", "_context", "_RevocableSession", "_noBody", "_method" })] = Value(rng, 2);
        if (rng.Next(4) == 0) body[Pick(rng, new[] { "order", "keys", "include", "limit", "count" })] = rng.Next(2) == 0 ? Pick(rng, HostileJsonTexts) : Value(rng, 2);
        var path = Pick(rng, new[]
        {
            $"parse/classes/{FuzzWorld.ClassName}", $"parse/classes/{FuzzWorld.PrivateClass}/{Pick(rng, world.VictimSecrets)}",
            $"parse/classes/{FuzzWorld.ClassName}/{Pick(rng, world.VictimObjects)}", "parse/schemas", $"parse/users/{world.VictimId}",
            "parse/batch", "parse/functions/x", "parse/sessions", $"parse/purge/{FuzzWorld.PrivateClass}", $"parse/schemas/{FuzzWorld.PrivateClass}",
        });
        var text = body.ToJsonString();
        // Escapes a serializer never writes: lone surrogates in the envelope's own keys and values.
        if (rng.Next(5) == 0) text = "{\"_ApplicationId\":\"" + CrmServer.AppId + "\",\"_method\":\"GET\",\"_SessionToken\":\"\\ud800\",\"where\":{\"s\":\"\\udc00\"}," + text[1..];
        // No headers at all: the body is all the credentials, as the JS SDK sends them.
        return Raw("POST", path, Encoding.UTF8.GetBytes(text), "text/plain", []);
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
        // Headers whose values look like JSON or carry text no header should: the server must treat them as opaque.
        if (rng.Next(3) == 0)
            headers.Add(new(Pick(rng, new[] { "X-Parse-Installation-Id", "X-Parse-Client-Version", "X-Parse-Session-Token", "X-Parse-Application-Id", "X-Request-Id", "Origin", "Accept", "Accept-Language", "If-Match", "Range" }),
                Pick(rng, new[] { Pick(rng, HostileJsonTexts), "\u00ff\u00fe", "😀", "a\u0001b", "http://evil.example", "*/*;q=abc", "bytes=999999999-", "\"*\"", Pick(rng, WeirdNames) })));
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

    /// <summary>
    /// Every Parse parameter that may arrive as JSON in a URL (<c>where</c>, <c>order</c>, <c>keys</c>, <c>include</c>,
    /// <c>count</c>, <c>limit</c>, …), on every reading route, holding hostile JSON texts or broken percent-escapes.
    /// </summary>
    private FuzzRequest QueryString(Random rng)
    {
        var path = Pick(rng, new[]
        {
            $"parse/classes/{FuzzWorld.ClassName}", $"parse/classes/{FuzzWorld.ClassName}/{Pick(rng, world.PublicObjects)}", "parse/users", "parse/users/me",
            "parse/roles", "parse/sessions", $"parse/classes/{FuzzWorld.PrivateClass}", "parse/login", $"parse/aggregate/{FuzzWorld.ClassName}", "parse/schemas",
        });
        var parameters = new List<string>();
        for (var i = rng.Next(1, 4); i > 0; i--)
        {
            var name = Pick(rng, new[] { "where", "where", "order", "keys", "include", "excludeKeys", "count", "limit", "skip", "redirectClassNameForKey", "username", "password", "\ud800" });
            var value = rng.Next(3) switch
            {
                0 => Enc(Pick(rng, HostileJsonTexts)),
                1 => Pick(rng, new[] { "%ED%A0%80", "%ZZ", "%", "%F0%9F", "%C0%AF", "%00", "%7B%22s%22%3A%22%ED%A0%80%22%7D", "%7B%22s%22%3A%22%5Cud800%22%7D" }),
                _ => Enc(Where(rng).ToJsonString()),
            };
            parameters.Add((name == "\ud800" ? "%ED%A0%80" : Enc(name)) + "=" + value);
        }
        return Json("GET", $"{path}?{string.Join('&', parameters)}", null);
    }

    /// <summary>GraphQL variables: the JSON a client controls beside the document, typed by the schema (or not).</summary>
    private FuzzRequest GraphQLVariables(Random rng)
    {
        var (query, name) = Pick(rng, new[]
        {
            ("query($w: FuzzWhereInput, $n: Int, $o: [FuzzOrder!]) { fuzzs(where: $w, first: $n, order: $o) { count edges { node { objectId s } } } }", "w"),
            ("query($id: ID!) { fuzz(id: $id) { objectId s n } }", "id"),
            ("mutation($f: CreateFuzzFieldsInput) { createFuzz(input: { fields: $f }) { fuzz { objectId } } }", "f"),
            ("mutation($i: UpdateFuzzInput!) { updateFuzz(input: $i) { fuzz { objectId } } }", "i"),
            ("query($w: FuzzWhereInput) { a: fuzzs(where: $w) { count } b: fuzzs(where: $w) { count } }", "w"),
        });
        JsonNode? value = rng.Next(6) switch
        {
            0 => Value(rng),
            1 => new JsonObject { ["s"] = new JsonObject { ["matchesRegex"] = Pick(rng, RegexBombs) } },
            2 => new JsonObject { ["id"] = Pick(rng, world.VictimObjects), ["fields"] = WrongTypedObject(rng) },
            3 => JsonNode.Parse(string.Concat(Enumerable.Repeat("{\"OR\":[", 28)) + "{}" + string.Concat(Enumerable.Repeat("]}", 28))),
            4 => new JsonObject { ["s"] = new JsonObject { ["equalTo"] = Pick(rng, WeirdNames) }, [Pick(rng, WeirdNames)] = Value(rng, 1) },
            _ => WrongTypedObject(rng),
        };
        var variables = new JsonObject { [name] = value, ["n"] = rng.Next(3) == 0 ? Value(rng, 2) : rng.Next(-5, 2000) };
        var text = new JsonObject { ["query"] = query, ["variables"] = variables }.ToJsonString();
        // Hand-written escapes that System.Text.Json would never produce: a lone surrogate in a variable's string.
        if (rng.Next(4) == 0) text = text.Replace("\"n\":", "\"x\":\"\\ud800\",\"n\":", StringComparison.Ordinal);
        if (rng.Next(8) == 0)
            return Raw("GET", $"graphql?query={Enc(query)}&variables={Enc(rng.Next(2) == 0 ? Pick(rng, HostileJsonTexts) : variables.ToJsonString())}", null, "application/json", Auth(), graphQL: true);
        return Raw("POST", "graphql", Encoding.UTF8.GetBytes(text), "application/json", Auth(), graphQL: true);
    }
}
