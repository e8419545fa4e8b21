using System.Text.Json;
using System.Text.Json.Nodes;

namespace Crm.Functions.LiveQuery;

/// <summary>A LiveQuery <c>error</c> frame to send instead of the answer (docs/livequery.md lists the codes).</summary>
internal sealed class LiveQueryError(int code, string message, bool reconnect = false, long? requestId = null) : Exception(message)
{
    public int Code { get; } = code;
    public bool Reconnect { get; } = reconnect;
    public long? RequestId { get; } = requestId;

    /// <summary>Code 1: the frame does not have the shape of its op (parse-server's schema validation; clients retry).</summary>
    public static LiveQueryError Shape(string message, long? requestId = null) => new(1, message, true, requestId);
}

/// <summary>A validated <c>subscribe</c> or <c>update</c> frame.</summary>
internal sealed record SubscribeFrame(long RequestId, string ClassName, JsonObject? Where, IReadOnlyList<string>? Keys, IReadOnlyList<string>? Watch, string? SessionToken);

/// <summary>
/// The wire shapes of the Parse LiveQuery protocol: client frames validated as strictly as parse-server's schema
/// (unknown properties are an error, not ignored), and the server frames the SDKs read.
/// </summary>
internal static class LiveQueryFrames
{
    public const string AdditionalProperties = "Additional properties not allowed";

    // A repeated property is ambiguous (which one counts?): refused like any other malformed frame.
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64, AllowDuplicateProperties = false };

    public static readonly string[] ConnectProperties =
        ["op", "applicationId", "javascriptKey", "masterKey", "clientKey", "windowsKey", "restAPIKey", "sessionToken", "installationId"];
    private static readonly string[] SubscribeProperties = ["op", "requestId", "query", "sessionToken"];
    private static readonly string[] QueryProperties = ["className", "where", "keys", "fields", "watch"];
    private static readonly string[] UnsubscribeProperties = ["op", "requestId"];

    /// <summary>The frame as a JSON object, or error 1 (parse-server drops what it cannot parse; an answer helps clients more).</summary>
    public static JsonObject Parse(string text)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(text, null, DocumentOptions);
        }
        catch (JsonException)
        {
            throw LiveQueryError.Shape("The frame is not valid JSON.");
        }
        return node as JsonObject ?? throw LiveQueryError.Shape("The frame must be a JSON object.");
    }

    public static string? Op(JsonObject message) =>
        message["op"] is JsonValue v && v.TryGetValue(out string? op) ? op : throw LiveQueryError.Shape("Missing required property: op");

    /// <summary>The connect frame's properties (all optional strings but applicationId).</summary>
    public static Dictionary<string, string> Connect(JsonObject message)
    {
        OnlyThese(message, ConnectProperties, null);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in message)
        {
            if (key == "op" || value is null) continue;
            values[key] = value is JsonValue v && v.TryGetValue(out string? s) ? s : throw LiveQueryError.Shape($"Invalid type: {key} must be a string");
        }
        if (!values.ContainsKey("applicationId")) throw LiveQueryError.Shape("Missing required property: applicationId");
        return values;
    }

    public static SubscribeFrame Subscribe(JsonObject message)
    {
        var requestId = RequestId(message);
        OnlyThese(message, SubscribeProperties, requestId);
        if (message["query"] is not JsonObject query) throw LiveQueryError.Shape("Missing required property: query", requestId);
        OnlyThese(query, QueryProperties, requestId);
        if (query["className"] is not JsonValue cv || !cv.TryGetValue(out string? className) || className.Length == 0)
            throw LiveQueryError.Shape("Missing required property: className", requestId);
        var where = query["where"] switch
        {
            null => null,
            JsonObject o => o,
            _ => throw LiveQueryError.Shape("Invalid type: where must be an object", requestId),
        };
        // Android and Flutter send the selected keys as "fields": the same list under its older name.
        if (query["keys"] is not null && query["fields"] is not null) throw LiveQueryError.Shape("Send keys or fields, not both.", requestId);
        var keys = Names(query["keys"] ?? query["fields"], query["keys"] is not null ? "keys" : "fields", requestId);
        var watch = Names(query["watch"], "watch", requestId);
        string? token = null;
        if (message["sessionToken"] is { } t && (t is not JsonValue tv || !tv.TryGetValue(out token)))
            throw LiveQueryError.Shape("Invalid type: sessionToken must be a string", requestId);
        return new SubscribeFrame(requestId, className, where, keys, watch, string.IsNullOrEmpty(token) ? null : token);
    }

    public static long Unsubscribe(JsonObject message)
    {
        var requestId = RequestId(message);
        OnlyThese(message, UnsubscribeProperties, requestId);
        return requestId;
    }

    /// <summary>A <c>query</c> frame (the JS SDK's <c>subscription.find()</c>): the same shape as <c>unsubscribe</c>.</summary>
    public static long Query(JsonObject message) => Unsubscribe(message);

    private static long RequestId(JsonObject message)
    {
        if (message["requestId"] is null) throw LiveQueryError.Shape("Missing required property: requestId");
        if (message["requestId"] is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out long id)) return id;
        throw LiveQueryError.Shape("Invalid type: requestId must be an integer");
    }

    private static void OnlyThese(JsonObject message, string[] allowed, long? requestId)
    {
        if (message.Any(p => !allowed.Contains(p.Key, StringComparer.Ordinal))) throw LiveQueryError.Shape(AdditionalProperties, requestId);
    }

    /// <summary>keys / fields / watch: absent, or a non-empty array of distinct strings.</summary>
    private static List<string>? Names(JsonNode? node, string property, long requestId)
    {
        if (node is null) return null;
        if (node is not JsonArray { Count: > 0 } array || array.Any(n => n is not JsonValue v || !v.TryGetValue(out string? _)))
            throw LiveQueryError.Shape($"Invalid type: {property} must be a non-empty array of strings", requestId);
        var names = array.Select(n => n!.GetValue<string>()).ToList();
        if (names.Distinct(StringComparer.Ordinal).Count() != names.Count) throw LiveQueryError.Shape($"Array items are not unique: {property}", requestId);
        return names;
    }

    // ---- server frames --------------------------------------------------------------------------------

    public static string Connected(LiveQueryConnection c) => With(new JsonObject { ["op"] = "connected", ["clientId"] = c.ClientId }, c, null);

    public static string Subscribed(LiveQueryConnection c, long requestId) => With(new JsonObject { ["op"] = "subscribed", ["clientId"] = c.ClientId }, c, requestId);

    public static string Unsubscribed(LiveQueryConnection c, long requestId) => With(new JsonObject { ["op"] = "unsubscribed", ["clientId"] = c.ClientId }, c, requestId);

    /// <summary>The answer to <c>query</c>: the subscription's current matches, each with its className for the SDK.</summary>
    public static string Result(LiveQueryConnection c, long requestId, JsonArray results) =>
        With(new JsonObject { ["op"] = "result", ["clientId"] = c.ClientId }, c, requestId, results);

    public static string Error(LiveQueryConnection c, int code, string error, bool reconnect, long? requestId)
    {
        var frame = new JsonObject { ["op"] = "error" };
        if (c.ClientId is not null) frame["clientId"] = c.ClientId;
        frame["code"] = code;
        frame["error"] = error;
        frame["reconnect"] = reconnect;
        if (requestId is not null) frame["requestId"] = requestId;
        return frame.ToJsonString();
    }

    /// <summary>An object event: create / enter / update / leave / delete, with <c>original</c> where given.</summary>
    public static string Event(LiveQueryConnection c, string op, long requestId, JsonObject obj, JsonObject? original)
    {
        var frame = new JsonObject { ["op"] = op, ["clientId"] = c.ClientId };
        if (c.InstallationId is not null) frame["installationId"] = c.InstallationId;
        frame["requestId"] = requestId;
        frame["object"] = obj;
        if (original is not null) frame["original"] = original;
        return frame.ToJsonString();
    }

    private static string With(JsonObject frame, LiveQueryConnection c, long? requestId, JsonArray? results = null)
    {
        if (c.InstallationId is not null) frame["installationId"] = c.InstallationId;
        if (requestId is not null) frame["requestId"] = requestId;
        if (results is not null) frame["results"] = results;
        return frame.ToJsonString();
    }
}
