using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Requests;
using Crm.Functions.Core.Security;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Http;

/// <summary>
/// Everything between the socket and a Parse handler: the JS SDK envelope (<c>_method</c>, <c>_ApplicationId</c>,
/// … in a text/plain JSON body), query-string parameters, the caller (through <see cref="RequestAuthenticator"/>,
/// shared with GraphQL); then dispatch through <see cref="ParseRouter"/> and one error mapping for every failure.
/// </summary>
internal sealed class ParseMiddleware(
    RequestDelegate next,
    ParseRouter router,
    RequestAuthenticator authenticator,
    IOptions<ParseSettings> options,
    ILogger<ParseMiddleware> log)
{
    // Duplicate keys are refused: parsers disagree on which one wins, and System.Text.Json would throw later.
    public static readonly JsonDocumentOptions JsonLimits = new() { MaxDepth = 64, AllowDuplicateProperties = false };
    private static readonly JsonNodeOptions NodeOptions = new() { PropertyNameCaseInsensitive = false };
    private readonly ParseSettings _settings = options.Value;
    private readonly BudgetLimits _budget = BudgetLimits.From(options.Value.Limits);

    public async Task InvokeAsync(HttpContext context)
    {
        if (!context.Request.Path.StartsWithSegments(_settings.MountPath, out var rest))
        {
            await next(context);
            return;
        }
        AddCorsHeaders(context.Response.Headers);
        ApiResult result;
        try
        {
            result = await HandleAsync(context, rest.Value ?? "/", context.RequestAborted);
        }
        catch (ParseException e)
        {
            result = ErrorResponses.From(e);
        }
        catch (UnauthorizedException e)
        {
            result = ErrorResponses.Unauthorized(e.Message);
        }
        catch (RouteNotFoundException e)
        {
            result = new ApiResult(404, ErrorResponses.Body(ParseError.InvalidJson, e.Message));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            result = new ApiResult(413, ErrorResponses.Body(ParseError.ObjectTooLarge, $"The request body exceeds {_settings.Limits.MaxBodyBytes} bytes."));
        }
        catch (BadHttpRequestException e)
        {
            result = new ApiResult(400, ErrorResponses.Body(ParseError.InvalidJson, e.Message));
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return; // the client went away; nobody to answer
        }
        catch (Exception e)
        {
            log.LogError(e, "Unhandled failure on {Method} {Path}", context.Request.Method, context.Request.Path.Value);
            result = new ApiResult(500, ErrorResponses.Body(ParseError.InternalServerError, "Internal server error."));
        }
        await WriteAsync(context, result);
    }

    /// <summary>
    /// The JS SDK reads response headers (job and push status ids) only when they are exposed, even outside browsers.
    /// Which origins may call is <see cref="WebEdgeMiddleware"/>'s decision (Parse:Cors:AllowedOrigins).
    /// </summary>
    private static void AddCorsHeaders(IHeaderDictionary headers)
    {
        if (!headers.ContainsKey("Access-Control-Expose-Headers"))
            headers.AccessControlExposeHeaders = "X-Parse-Job-Status-Id, X-Parse-Push-Status-Id";
    }

    public static async Task WriteAsync(HttpContext context, ApiResult result)
    {
        if (context.Response.HasStarted) return;
        context.Response.StatusCode = result.Status;
        context.Response.ContentType = "application/json; charset=utf-8";
        if (result.Location is not null) context.Response.Headers.Location = result.Location;
        await using var writer = new Utf8JsonWriter(context.Response.BodyWriter);
        result.Body.WriteTo(writer);
        await writer.FlushAsync();
    }

    private async Task<ApiResult> HandleAsync(HttpContext context, string path, CancellationToken ct)
    {
        var request = context.Request;
        if (HttpMethods.IsOptions(request.Method)) return ApiResult.Empty();

        var body = await ReadBodyAsync(request, ct);
        var method = request.Method.ToUpperInvariant();
        if (method == "POST" && body["_method"] is JsonValue m && m.TryGetValue(out string? overridden))
        {
            method = overridden.ToUpperInvariant();
            if (method is not ("GET" or "POST" or "PUT" or "DELETE"))
                throw new ParseException(ParseError.InvalidJson, $"Unsupported _method {Names(overridden)}.");
        }
        body.Remove("_method");
        var envelope = ExtractEnvelope(body);
        if (method == "GET") MergeQuery(request.Query, body);

        var match = router.Match(method, path)
                    ?? throw new RouteNotFoundException($"Cannot {method} {Names(_settings.MountPath + path)}");
        var (route, values) = match;
        var auth = route.Function == "health" ? Auth.Anonymous : await authenticator.AuthenticateAsync(context, envelope, TokenUse(route), ct);
        if (route.MasterOnly && !auth.IsMaster) throw new UnauthorizedException("unauthorized: master key is required");
        // One budget for the whole request, /batch sub-requests included (the doors' shared opening may replace this line).
        using var budget = RequestBudget.Begin(_budget, BudgetCaller(auth, context));

        var call = new ParseCall
        {
            Method = method,
            Path = path,
            Body = body,
            Auth = auth,
            Route = values,
            ServerUrl = ServerUrl(request),
            InstallationId = auth.InstallationId ?? envelope.InstallationId,
            RemoteIp = context.Connection.RemoteIpAddress?.ToString(),
            // /sessions/me and /logout judge the token themselves, so they need it whichever way it was sent.
            RawSessionToken = context.Request.Headers.TryGetValue("X-Parse-Session-Token", out var header) && header.Count > 0
                ? header[0] : envelope.SessionToken,
        };
        var result = await route.Handler(call, ct);
        if (_settings.PublicServerUrl is null) AbsoluteFileUrls(result.Body, call.ServerUrl);
        return result;
    }

    /// <summary>Without a configured public URL the core gives file urls relative to the server URL; SDKs need them absolute.</summary>
    private static void AbsoluteFileUrls(JsonNode? node, string serverUrl)
    {
        switch (node)
        {
            case JsonObject o when o["__type"]?.ToString() == "File" && o["url"] is JsonValue u && u.TryGetValue(out string? url) && url.StartsWith("/files/", StringComparison.Ordinal):
                o["url"] = serverUrl + url;
                break;
            case JsonObject o:
                foreach (var (_, child) in o) AbsoluteFileUrls(child, serverUrl);
                break;
            case JsonArray a:
                foreach (var child in a) AbsoluteFileUrls(child, serverUrl);
                break;
        }
    }

    /// <summary>Who a request's expensive work is counted against: the user, or the client IP when anonymous; nobody for the master key.</summary>
    internal static string? BudgetCaller(Auth auth, HttpContext context) =>
        auth.IsMaster ? null : auth.UserId ?? "ip:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown");

    // /login ignores any token sent with it; /logout and /sessions/me judge it themselves.
    private static SessionTokenUse TokenUse(ParseRoute route) => route.Function switch
    {
        "login" => SessionTokenUse.IgnoreNoBearer,
        "logout" => SessionTokenUse.PassThrough,
        _ when route.Template == "/sessions/me" => SessionTokenUse.Ignore,
        _ => SessionTokenUse.Resolve,
    };

    private static string Names(string value) => Core.Json.Names.Truncate(value);

    private string ServerUrl(HttpRequest request) =>
        _settings.PublicServerUrl?.TrimEnd('/') ?? $"{request.Scheme}://{request.Host}{request.PathBase}{_settings.MountPath}";

    private async Task<JsonObject> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        var max = _settings.Limits.MaxBodyBytes;
        if (request.ContentLength > max) throw new BadHttpRequestException("too large", StatusCodes.Status413PayloadTooLarge);
        // Most reads are GETs without a body: no buffers for them.
        if (request.ContentLength == 0 || request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == false) return [];
        using var buffer = new MemoryStream();
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
            {
                if (buffer.Length + read > max) throw new BadHttpRequestException("too large", StatusCodes.Status413PayloadTooLarge);
                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
        if (buffer.Length == 0) return [];
        var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        if (bytes.Trim(" \t\r\n"u8).Length == 0) return [];
        try
        {
            // Any content type is JSON to Parse: the JS SDK posts text/plain to avoid CORS preflights.
            var node = JsonNode.Parse(bytes, NodeOptions, JsonLimits);
            RefuseLoneSurrogates(node);
            return node as JsonObject ?? throw new ParseException(ParseError.InvalidJson, "The request body must be a JSON object.");
        }
        catch (JsonException)
        {
            throw new ParseException(ParseError.InvalidJson, "Invalid JSON in the request body.");
        }
        catch (InvalidOperationException)
        {
            throw new ParseException(ParseError.InvalidJson, "Invalid JSON in the request body.");
        }
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

    private static BodyCredentials ExtractEnvelope(JsonObject body)
    {
        string? Take(string key)
        {
            var value = body[key] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
            body.Remove(key);
            return value;
        }
        var envelope = new BodyCredentials(Take("_ApplicationId"), Take("_MasterKey"), Take("_SessionToken"), Take("_InstallationId"), Take("_JavaScriptKey"));
        foreach (var key in new[] { "_ClientVersion", "_RevocableSession", "_context", "_noBody", "_ContentType" }) body.Remove(key);
        return envelope;
    }

    private static bool LooksLikeJson(string text) => text.Length > 0 && (text[0] is '{' or '[' or '"' || char.IsAsciiDigit(text[0])
        || (text[0] == '-' && text.Length > 1 && char.IsAsciiDigit(text[1])) || text is "true" or "false" or "null");

    private static void MergeQuery(IQueryCollection query, JsonObject body)
    {
        foreach (var (key, values) in query)
        {
            if (body.ContainsKey(key)) continue;
            var text = values.ToString();
            // Keep non-JSON-looking scalars (order=-amount, keys=a,b) as strings. Only text that can start a
            // JSON value is parsed: a failed parse throws, and an exception per request is a hot-path cost.
            JsonNode? parsed = null;
            if (LooksLikeJson(text))
            {
                try { parsed = JsonNode.Parse(text, NodeOptions, JsonLimits); }
                catch (JsonException) { parsed = null; }
            }
            RefuseLoneSurrogates(parsed);
            body[key] = parsed ?? JsonValue.Create(text);
        }
    }
}

/// <summary>No route matches: a JSON 404, never HTML (the PHP SDK throws on text/html).</summary>
internal sealed class RouteNotFoundException(string message) : Exception(message);
