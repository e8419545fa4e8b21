using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Microsoft.AspNetCore.Http.Features;

namespace Crm.Functions.Http;

/// <summary>
/// The one reader of what a Parse request says outside its headers: the JSON body (any content type, size-capped,
/// no duplicate keys, no lone surrogates), the JS SDK envelope inside it (<c>_ApplicationId</c>, …) and the query
/// string, for requests and for the paths of <c>/batch</c> sub-requests alike, so both read the same JSON the same way.
/// </summary>
internal static class ParseRequestReader
{
    // Duplicate keys are refused: parsers disagree on which one wins, and System.Text.Json would throw later.
    public static readonly JsonDocumentOptions JsonLimits = new() { MaxDepth = 64, AllowDuplicateProperties = false };
    private static readonly JsonNodeOptions NodeOptions = new() { PropertyNameCaseInsensitive = false };
    private static readonly string[] EnvelopeNoise = ["_ClientVersion", "_RevocableSession", "_context", "_noBody", "_ContentType"];

    /// <summary>The body as a JSON object; empty when there is none. 413 (code 130) beyond <paramref name="maxBytes"/>.</summary>
    public static async Task<JsonObject> ReadBodyAsync(HttpRequest request, long maxBytes, CancellationToken ct)
    {
        if (request.ContentLength > maxBytes) throw TooLarge(maxBytes);
        // Most reads are GETs without a body: no buffers for them.
        if (request.ContentLength == 0 || request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == false) return [];
        using var buffer = new MemoryStream();
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
            {
                if (buffer.Length + read > maxBytes) throw TooLarge(maxBytes);
                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(maxBytes); // Kestrel's own cap on a chunked body
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
        if (buffer.Length == 0) return [];
        var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        if (bytes.Trim(" \t\r\n"u8).Length == 0) return [];
        // Any content type is JSON to Parse: the JS SDK posts text/plain to avoid CORS preflights.
        return Parse(bytes, "the request body") as JsonObject ?? throw new ParseException(ParseError.InvalidJson, "The request body must be a JSON object.");
    }

    private static ParseException TooLarge(long maxBytes) =>
        new(ParseError.ObjectTooLarge, $"The request body exceeds {maxBytes} bytes.", StatusCodes.Status413PayloadTooLarge);

    /// <summary>Removes the JS SDK envelope from a body and returns the credentials it carried.</summary>
    public static Credentials TakeEnvelope(JsonObject body)
    {
        if (body.Count == 0) return default;
        string? Take(string key)
        {
            var value = body[key] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
            body.Remove(key);
            return value;
        }
        var envelope = new Credentials(Take("_ApplicationId"), Take("_MasterKey"), Take("_SessionToken"), Take("_InstallationId"), Take("_JavaScriptKey"));
        foreach (var key in EnvelopeNoise) body.Remove(key);
        return envelope;
    }

    /// <summary>Adds the query-string parameters to a GET's body; a body member of the same name wins.</summary>
    public static void MergeQuery(IQueryCollection query, JsonObject body)
    {
        foreach (var (key, values) in query)
            if (!body.ContainsKey(key)) body[key] = QueryValue(values.ToString());
    }

    /// <summary>
    /// Splits a <c>/batch</c> sub-request path into the path relative to the mount path and its query parameters
    /// (read like a URL's); null when the path is not under the mount path. Android sends full URLs, the JS SDK
    /// "/parse/classes/…".
    /// </summary>
    public static (string Path, Dictionary<string, JsonNode> Query)? BatchPath(string path, string mountPath)
    {
        if (Uri.TryCreate(path, UriKind.Absolute, out var absolute) && absolute.Scheme is "http" or "https") path = absolute.PathAndQuery;
        var query = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
        var q = path.IndexOf('?', StringComparison.Ordinal);
        if (q >= 0)
        {
            foreach (var pair in path[(q + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                var key = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
                query[key] = QueryValue(eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]));
            }
            path = path[..q];
        }
        var mount = "/" + mountPath.Trim('/');
        return path.StartsWith(mount + "/", StringComparison.Ordinal) ? (path[mount.Length..], query) : null;
    }

    /// <summary>
    /// A query-string value: JSON when it is JSON (<c>where={…}</c>, <c>limit=10</c>), else the text itself
    /// (<c>order=-amount</c>, <c>keys=a,b</c>). Only text that can start a JSON value is parsed: a failed parse
    /// throws, and an exception per request is a hot-path cost.
    /// </summary>
    private static JsonNode QueryValue(string text)
    {
        if (!LooksLikeJson(text)) return JsonValue.Create(text);
        JsonNode? parsed;
        try { parsed = JsonNode.Parse(text, NodeOptions, JsonLimits); }
        catch (JsonException) { return JsonValue.Create(text); }
        // Valid JSON syntax whose text cannot be decoded (a lone surrogate in a key, found by the duplicate-key check).
        catch (InvalidOperationException) { throw new ParseException(ParseError.InvalidJson, "Invalid JSON in the query string."); }
        Validate(parsed, "the query string");
        return parsed ?? JsonValue.Create(text);
    }

    private static bool LooksLikeJson(string text) => text.Length > 0 && (text[0] is '{' or '[' or '"' || char.IsAsciiDigit(text[0])
        || (text[0] == '-' && text.Length > 1 && char.IsAsciiDigit(text[1])) || text is "true" or "false" or "null");

    private static JsonNode? Parse(ReadOnlySpan<byte> bytes, string where)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(bytes, NodeOptions, JsonLimits); }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { throw new ParseException(ParseError.InvalidJson, $"Invalid JSON in {where}."); }
        Validate(node, where);
        return node;
    }

    /// <summary>
    /// Walks the parsed JSON once: System.Text.Json parses lazily, so a duplicate key or an escape that cannot become
    /// text (<c>"\ud800"</c>, half a surrogate pair) would otherwise surface later, inside a handler or the store.
    /// </summary>
    private static void Validate(JsonNode? node, string where)
    {
        try { RefuseLoneSurrogates(node); }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { throw new ParseException(ParseError.InvalidJson, $"Invalid JSON in {where}."); }
    }

    /// <summary>
    /// JSON may escape half a surrogate pair (<c>"\ud800"</c>); such text cannot be stored or written back as UTF-8,
    /// so it is refused here as invalid JSON instead of failing later inside the store.
    /// </summary>
    internal static void RefuseLoneSurrogates(JsonNode? node)
    {
        static bool Valid(string text)
        {
            for (var i = 0; i < text.Length; i++)
            {
                if (!char.IsSurrogate(text[i])) continue;
                if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { i++; continue; }
                return false;
            }
            return true;
        }
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, child) in o)
                {
                    if (!Valid(key)) throw new ParseException(ParseError.InvalidJson, "Invalid JSON: a key holds an unpaired UTF-16 surrogate.");
                    RefuseLoneSurrogates(child);
                }
                break;
            case JsonArray a:
                foreach (var child in a) RefuseLoneSurrogates(child);
                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String && !Valid(v.GetValue<string>()):
                throw new ParseException(ParseError.InvalidJson, "Invalid JSON: a string holds an unpaired UTF-16 surrogate.");
        }
    }
}
