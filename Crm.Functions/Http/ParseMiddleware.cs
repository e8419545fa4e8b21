using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Users;
using Crm.Functions.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Http;

/// <summary>
/// Everything between the socket and a Parse handler: the JS SDK envelope (<c>_method</c>, <c>_ApplicationId</c>,
/// … in a text/plain JSON body), query-string parameters, the application id, client keys, the master key
/// (constant-time compare, IP-restricted) and the session token; then dispatch through <see cref="ParseRouter"/>
/// and one error mapping for every failure.
/// </summary>
internal sealed class ParseMiddleware(
    RequestDelegate next,
    ParseRouter router,
    UserService users,
    EntraUsers entraUsers,
    IOptions<ParseSettings> options,
    ILogger<ParseMiddleware> log)
{
    // Duplicate keys are refused: parsers disagree on which one wins, and System.Text.Json would throw later.
    public static readonly JsonDocumentOptions JsonLimits = new() { MaxDepth = 64, AllowDuplicateProperties = false };
    private static readonly JsonNodeOptions NodeOptions = new() { PropertyNameCaseInsensitive = false };
    private readonly ParseSettings _settings = options.Value;
    private readonly IReadOnlyList<IPNetwork> _masterKeyNetworks = options.Value.EffectiveMasterKeyIps.Select(IPNetwork.Parse).ToList();

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
    /// Parse's CORS headers on every response, errors included: browsers need them, and the JS SDK reads response
    /// headers (job and push status ids) only when they are exposed, even outside browsers.
    /// </summary>
    private static void AddCorsHeaders(IHeaderDictionary headers)
    {
        headers.AccessControlAllowOrigin = "*";
        headers.AccessControlAllowMethods = "GET,PUT,POST,DELETE,OPTIONS";
        headers.AccessControlAllowHeaders = "X-Parse-Master-Key, X-Parse-REST-API-Key, X-Parse-Javascript-Key, X-Parse-Application-Id, "
            + "X-Parse-Client-Version, X-Parse-Session-Token, X-Requested-With, X-Parse-Revocable-Session, X-Parse-Request-Id, "
            + "Content-Type, Pragma, Cache-Control";
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
        var auth = route.Function == "health" ? Auth.Anonymous : await AuthenticateAsync(context, envelope, route, ct);
        if (route.MasterOnly && !auth.IsMaster) throw new UnauthorizedException("unauthorized: master key is required");

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

    private static string Names(string value) => Core.Json.Names.Truncate(value);

    private string ServerUrl(HttpRequest request) =>
        _settings.PublicServerUrl?.TrimEnd('/') ?? $"{request.Scheme}://{request.Host}{request.PathBase}{_settings.MountPath}";

    private async Task<JsonObject> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        var max = _settings.Limits.MaxBodyBytes;
        if (request.ContentLength > max) throw new BadHttpRequestException("too large", StatusCodes.Status413PayloadTooLarge);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > max) throw new BadHttpRequestException("too large", StatusCodes.Status413PayloadTooLarge);
            buffer.Write(chunk, 0, read);
        }
        if (buffer.Length == 0) return [];
        var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        if (bytes.Trim(" \t\r\n"u8).Length == 0) return [];
        try
        {
            // Any content type is JSON to Parse: the JS SDK posts text/plain to avoid CORS preflights.
            var node = JsonNode.Parse(bytes, NodeOptions, JsonLimits);
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

    private sealed record Envelope(string? AppId, string? MasterKey, string? SessionToken, string? InstallationId, string? ClientKey);

    private static Envelope ExtractEnvelope(JsonObject body)
    {
        string? Take(string key)
        {
            var value = body[key] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
            body.Remove(key);
            return value;
        }
        var envelope = new Envelope(Take("_ApplicationId"), Take("_MasterKey"), Take("_SessionToken"), Take("_InstallationId"), Take("_JavaScriptKey"));
        foreach (var key in new[] { "_ClientVersion", "_RevocableSession", "_context", "_noBody", "_ContentType" }) body.Remove(key);
        return envelope;
    }

    private static void MergeQuery(IQueryCollection query, JsonObject body)
    {
        foreach (var (key, values) in query)
        {
            if (body.ContainsKey(key)) continue;
            var text = values.ToString();
            JsonNode? parsed;
            try { parsed = JsonNode.Parse(text, NodeOptions, JsonLimits); }
            catch (JsonException) { parsed = JsonValue.Create(text); }
            // Keep non-JSON-looking scalars (order=-amount, keys=a,b) as strings.
            body[key] = parsed ?? JsonValue.Create(text);
        }
    }

    private async Task<Auth> AuthenticateAsync(HttpContext context, Envelope envelope, ParseRoute route, CancellationToken ct)
    {
        var headers = context.Request.Headers;
        string? Header(string name) => headers.TryGetValue(name, out var v) && v.Count > 0 ? v[0] : null;

        var (basicAppId, basicMaster) = BasicCredentials(Header("Authorization"));
        var appId = Header("X-Parse-Application-Id") ?? envelope.AppId ?? basicAppId;
        if (!FixedEquals(appId, _settings.AppId)) throw new UnauthorizedException();

        var installationId = Header("X-Parse-Installation-Id") ?? envelope.InstallationId;
        var masterKey = Header("X-Parse-Master-Key") ?? envelope.MasterKey ?? basicMaster;
        if (masterKey is not null && FixedEquals(masterKey, _settings.MasterKey))
        {
            var ip = context.Connection.RemoteIpAddress;
            if (ip is null || !_masterKeyNetworks.Any(n => n.Contains(ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip)))
                throw new UnauthorizedException();
            return new Auth { IsMaster = true, InstallationId = installationId };
        }
        CheckClientKey(Header("X-Parse-Client-Key") ?? Header("X-Parse-REST-API-Key") ?? Header("X-Parse-Javascript-Key")
                       ?? Header("X-Parse-Windows-Key") ?? envelope.ClientKey);

        var token = Header("X-Parse-Session-Token") ?? envelope.SessionToken;
        if (string.IsNullOrEmpty(token) && Header("Authorization") is { } authorization
            && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && route.Function is not ("login" or "logout"))
            return await EntraAuthAsync(context, installationId, entraUsers, users, log, ct);
        // /login ignores any token sent with it; /logout and /sessions/me judge it themselves.
        if (string.IsNullOrEmpty(token) || route.Function is "login" or "logout" || route.Template == "/sessions/me")
            return new Auth { InstallationId = installationId, SessionToken = route.Function is "logout" ? token : null };
        return await SessionAuthAsync(token, installationId, users, ct);
    }

    /// <summary>The caller behind a session token (also used by the real-time negotiate endpoint); 209 when unknown.</summary>
    internal static async Task<Auth> SessionAuthAsync(string token, string? installationId, UserService users, CancellationToken ct)
    {
        if (token.Length > 128) throw new ParseException(ParseError.InvalidSessionToken, "Invalid session token");
        return await users.AuthFromSessionAsync(token, installationId, ct)
               ?? throw new ParseException(ParseError.InvalidSessionToken, "Invalid session token");
    }

    /// <summary>
    /// An Entra ID bearer token, validated by Microsoft.Identity.Web's JwtBearer handler (issuer, audience,
    /// signature, lifetime); the caller then becomes the linked _User, exactly like a session user.
    /// </summary>
    internal static async Task<Auth> EntraAuthAsync(HttpContext context, string? installationId,
        EntraUsers entraUsers, UserService users, ILogger log, CancellationToken ct)
    {
        // Bearer tokens are accepted only when Entra ID is configured (the AzureAd section names a client id).
        var schemes = context.RequestServices.GetService<IAuthenticationSchemeProvider>();
        if (schemes is null || await schemes.GetSchemeAsync(JwtBearerDefaults.AuthenticationScheme) is null)
            throw new ParseException(ParseError.InvalidSessionToken, "Bearer tokens are not accepted: Entra ID is not configured.");
        var result = await context.AuthenticateAsync(JwtBearerDefaults.AuthenticationScheme);
        if (!result.Succeeded || result.Principal is null)
        {
            var reason = result.Failure?.Message ?? "no token";
            log.LogInformation("Rejected a bearer token: {Reason}", reason);
            throw new ParseException(ParseError.InvalidSessionToken, "Invalid bearer token");
        }
        var userId = await entraUsers.UserIdForAsync(result.Principal, ct);
        return await users.AuthForUserAsync(userId, null, installationId, ct);
    }

    private void CheckClientKey(string? presented)
    {
        var configured = new[] { _settings.ClientKey, _settings.JavaScriptKey, _settings.RestApiKey, _settings.DotNetKey }
            .Where(k => !string.IsNullOrEmpty(k)).ToList();
        if (configured.Count == 0) return;
        if (presented is null || !configured.Any(k => FixedEquals(presented, k))) throw new UnauthorizedException();
    }

    private static (string? AppId, string? MasterKey) BasicCredentials(string? authorization)
    {
        if (authorization is null || !authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase)) return (null, null);
        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(authorization[6..].Trim()));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0) return (decoded, null);
            var secret = decoded[(colon + 1)..];
            return (decoded[..colon], secret.StartsWith("javascript-key=", StringComparison.Ordinal) ? null : secret);
        }
        catch (FormatException)
        {
            return (null, null);
        }
    }

    /// <summary>Constant-time comparison: key checks must not leak how many leading characters matched.</summary>
    private static bool FixedEquals(string? presented, string? expected)
    {
        if (presented is null || string.IsNullOrEmpty(expected)) return false;
        return CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
    }
}

/// <summary>No route matches: a JSON 404, never HTML (the PHP SDK throws on text/html).</summary>
internal sealed class RouteNotFoundException(string message) : Exception(message);
