using System.Diagnostics;
using Crm.Functions.Core;
using Crm.Functions.GraphQL;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Http;

/// <summary>
/// The first middleware every request meets: a request id (X-Request-Id, echoed or generated) in every log line
/// of the request, the URL and header size limits answered as Parse errors, CORS for browser clients on other
/// origins, security headers on HTML pages, and a last-resort catch that never shows internals outside
/// Development. Its one log line per request (Debug level: an access log on demand) names method, path (never the
/// query string, which can carry a password on GET /login), status and duration.
/// </summary>
internal sealed class WebEdgeMiddleware(
    RequestDelegate next,
    IOptions<ParseSettings> options,
    IOptions<GraphQLSettings> graphQL,
    IWebHostEnvironment environment,
    IConfiguration configuration,
    ILogger<WebEdgeMiddleware> log)
{
    public const string RequestIdHeader = "X-Request-Id";
    private const string CorsAllowHeaders = "X-Parse-Master-Key, X-Parse-REST-API-Key, X-Parse-Javascript-Key, X-Parse-Application-Id, "
        + "X-Parse-Client-Version, X-Parse-Session-Token, X-Requested-With, X-Parse-Revocable-Session, X-Parse-Request-Id, "
        + "X-Parse-Installation-Id, X-Request-Id, Authorization, Content-Type, Pragma, Cache-Control, x-signalr-user-agent";
    private readonly ParseSettings _settings = options.Value;
    private readonly CorsPolicy _cors = new(options.Value.Cors.EffectiveAllowedOrigins);
    // With Entra ID sign-in (AzureAd:ClientId), the web app's MSAL redeems its sign-in code at the Entra instance.
    private readonly string _signInOrigin = EntraOrigin(configuration);

    private static string EntraOrigin(IConfiguration configuration)
    {
        var entra = configuration.GetSection("AzureAd");
        if (string.IsNullOrEmpty(entra["ClientId"])) return "";
        var instance = entra["Instance"] is { Length: > 0 } i ? i : "https://login.microsoftonline.com/";
        return Uri.TryCreate(instance, UriKind.Absolute, out var uri) ? " " + uri.GetLeftPart(UriPartial.Authority) : "";
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var requestId = RequestId(context.Request.Headers[RequestIdHeader].ToString());
        context.TraceIdentifier = requestId;
        context.Response.Headers[RequestIdHeader] = requestId;
        using var scope = log.BeginScope(new RequestIdScope(requestId));
        var watch = Stopwatch.StartNew();
        try
        {
            if (await RefusedAsync(context)) return;
            context.Response.OnStarting(() =>
            {
                SecurityHeaders(context);
                return Task.CompletedTask;
            });
            await next(context);
            // Refusals from outside the Parse handlers (no route, wrong method, a path that normalizes away from
            // the mount path) come without a body; clients get the same error shape as everywhere else.
            if (context.Response.StatusCode >= 400 && !context.Response.HasStarted && context.Response.ContentType is null && !HttpMethods.IsHead(context.Request.Method))
            {
                var status = context.Response.StatusCode;
                await WriteErrorAsync(context, status, status == 404 ? ParseError.ObjectNotFound : ParseError.InvalidJson,
                    status == 404 ? $"Cannot {context.Request.Method} {Core.Json.Names.Truncate(context.Request.Path.Value ?? "/")}" : $"The request was refused (HTTP {status}).");
            }
        }
        catch (Exception e) when (!context.RequestAborted.IsCancellationRequested)
        {
            // The same mapping as every door (which logs an unexpected failure once); Development shows those instead.
            var error = ErrorResponses.For(e, context, log);
            if (error is null || context.Response.HasStarted || (environment.IsDevelopment() && error.Status == 500)) throw;
            context.Response.Clear();
            context.Response.Headers[RequestIdHeader] = requestId;
            await WriteErrorAsync(context, error);
        }
        finally
        {
            // A client that went away mid-request (a page navigating while its upload was in flight) got no answer:
            // whatever status the handler set — often a 400 for the body it could not finish reading — is not a
            // refusal, so it is logged and counted as abandoned (499, as Kestrel's own log names it).
            var abandoned = RequestTelemetry.WasAbandoned(context);
            RequestTelemetry.Record(context, watch.Elapsed, abandoned);
            // Checked first: the logging calls box their arguments into an array before they look at the level.
            if (log.IsEnabled(LogLevel.Debug))
            {
                if (abandoned)
                    log.LogDebug("{Method} {Path} abandoned by the client after {ElapsedMs} ms",
                        context.Request.Method, context.Request.Path.Value, watch.ElapsedMilliseconds);
                else if (RequestTelemetry.RefusalCode(context) is { } code)
                    log.LogDebug("{Method} {Path} answered {Status} (Parse error {ParseCode}) in {ElapsedMs} ms",
                        context.Request.Method, context.Request.Path.Value, context.Response.StatusCode, code, watch.ElapsedMilliseconds);
                else
                    log.LogDebug("{Method} {Path} answered {Status} in {ElapsedMs} ms",
                        context.Request.Method, context.Request.Path.Value, context.Response.StatusCode, watch.ElapsedMilliseconds);
            }
        }
    }

    /// <summary>A client-chosen id is kept when it is short and plain (it lands in logs); anything else is replaced.</summary>
    private static string RequestId(string sent) =>
        sent.Length is > 0 and <= 128 && sent.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':')
            ? sent
            : Guid.NewGuid().ToString("N");

    /// <summary>Limits and CORS refusals; true when the request has been answered.</summary>
    private async Task<bool> RefusedAsync(HttpContext context)
    {
        var request = context.Request;
        var limits = _settings.Limits;
        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.Path.Value + request.QueryString.Value;
        if (target.Length > limits.MaxUrlBytes)
        {
            await WriteErrorAsync(context, 414, ParseError.ObjectTooLarge,
                $"The URL exceeds {limits.MaxUrlBytes} bytes (Parse:Limits:MaxUrlBytes); send large queries as POST with \"_method\":\"GET\".");
            return true;
        }
        long headerBytes = 0;
        foreach (var (name, values) in request.Headers)
            foreach (var value in values) headerBytes += name.Length + (value?.Length ?? 0) + 4;
        if (headerBytes > limits.MaxRequestHeadersBytes)
        {
            await WriteErrorAsync(context, 431, ParseError.ObjectTooLarge, $"The request headers exceed {limits.MaxRequestHeadersBytes} bytes (Parse:Limits:MaxRequestHeadersBytes).");
            return true;
        }

        // File uploads have their own, larger limit (Parse:Files:MaxUploadBytes), which the files door answers.
        var maxBody = FilesApi.IsUpload(request, _settings.MountPath) ? Math.Max(limits.MaxBodyBytes, FilesApi.RequestLimit(_settings.Files)) : limits.MaxBodyBytes;
        if (request.ContentLength > maxBody)
        {
            // Read and drop the body (Kestrel stops at twice the limit): answering before the client has sent it
            // all would reset the connection, and the client would see a broken socket instead of the error.
            var sink = new byte[64 * 1024];
            try { while (await request.Body.ReadAsync(sink, context.RequestAborted) > 0) { } }
            catch (BadHttpRequestException) { context.Response.Headers.Connection = "close"; }
            await WriteErrorAsync(context, 413, ParseError.ObjectTooLarge, maxBody == limits.MaxBodyBytes
                ? $"The request body exceeds {limits.MaxBodyBytes} bytes (Parse:Limits:MaxBodyBytes)."
                : $"The request body exceeds {maxBody} bytes (Parse:Files:MaxUploadBytes, base64-encoded).");
            return true;
        }

        // A chunked body has no length to check up front: the same limit applies while it is read.
        if (request.ContentLength is null && context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
            bodySize.MaxRequestBodySize = maxBody + 1;

        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0) return false;
        var allowed = _cors.Allows(origin) || IsOwnOrigin(request, origin);
        context.Response.Headers.Vary = "Origin"; // answers differ by origin: caches must keep them apart
        if (allowed)
        {
            var headers = context.Response.Headers;
            headers.AccessControlAllowOrigin = origin;
            headers.AccessControlAllowMethods = "GET,PUT,POST,DELETE,OPTIONS";
            headers.AccessControlAllowHeaders = CorsAllowHeaders;
            headers.AccessControlExposeHeaders = "X-Parse-Job-Status-Id, X-Parse-Push-Status-Id, X-Request-Id";
            headers.AccessControlAllowCredentials = "true"; // SignalR's browser client negotiates with credentials
            headers.AccessControlMaxAge = "86400";
        }
        var preflight = HttpMethods.IsOptions(request.Method) && request.Headers.ContainsKey("Access-Control-Request-Method");
        if (preflight && !allowed)
        {
            await WriteErrorAsync(context, 403, ParseError.OperationForbidden, "This origin is not allowed (Parse:Cors:AllowedOrigins).");
            return true;
        }
        if (preflight)
        {
            context.Response.StatusCode = 204;
            return true;
        }
        return false;
    }

    private bool IsOwnOrigin(HttpRequest request, string origin)
    {
        if (string.Equals(origin, $"{request.Scheme}://{request.Host}", StringComparison.OrdinalIgnoreCase)) return true;
        return _settings.PublicServerUrl is { } url && Uri.TryCreate(url, UriKind.Absolute, out var uri)
            && string.Equals(origin, uri.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase);
    }

    private Task WriteErrorAsync(HttpContext context, int status, int code, string message) =>
        WriteErrorAsync(context, new ApiResult(status, ErrorResponses.Body(code, message)));

    private async Task WriteErrorAsync(HttpContext context, ApiResult error)
    {
        // GraphQL clients read their own error format; everything else speaks Parse's.
        if (context.Request.Path.StartsWithSegments(graphQL.Value.Path)) error = ErrorResponses.AsGraphQL(error);
        await ErrorResponses.WriteAsync(context, error);
    }

    /// <summary>
    /// Every answer: nosniff. HTML pages also: no framing, no referrer, and a Content-Security-Policy that lets each
    /// page load only what it ships (GraphiQL: its own scripts; the docs pages: one inline Mermaid/Scalar bootstrap).
    /// </summary>
    private void SecurityHeaders(HttpContext context)
    {
        var headers = context.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        if (context.Response.ContentType?.StartsWith("text/html", StringComparison.OrdinalIgnoreCase) != true) return;
        // A page that sets its own policy keeps it (the account pages: no script at all, and a same-origin Referrer-Policy
        // so their form posts carry a real Origin).
        if (headers.ContainsKey("Content-Security-Policy")) return;
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        var scripts = context.Request.Path.StartsWithSegments(graphQL.Value.Path) ? "'self'" : "'self' 'unsafe-inline'";
        headers.ContentSecurityPolicy = $"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
            + $"font-src 'self' data:; connect-src 'self'{_signInOrigin}; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";
    }
}

/// <summary>Origin patterns: exact origins, <c>scheme://host:*</c> for any port, or <c>*</c>.</summary>
internal sealed class CorsPolicy(IReadOnlyList<string> patterns)
{
    public bool Allows(string origin)
    {
        if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.AbsolutePath != "/" || origin.EndsWith('/')) return false;
        foreach (var pattern in patterns)
        {
            if (pattern == "*") return true;
            if (pattern.EndsWith(":*", StringComparison.Ordinal))
            {
                var prefix = pattern[..^2];
                if (string.Equals($"{uri.Scheme}://{uri.Host}", prefix, StringComparison.OrdinalIgnoreCase)) return true;
            }
            else if (string.Equals(origin, pattern.TrimEnd('/'), StringComparison.OrdinalIgnoreCase)) return true;
        }
        return false;
    }
}

/// <summary>
/// The log scope of one request: its id as the structured property <c>RequestId</c>. One small object per request where a
/// dictionary cost a hash table.
/// </summary>
internal sealed class RequestIdScope(string requestId) : IReadOnlyList<KeyValuePair<string, object>>
{
    public KeyValuePair<string, object> this[int index] =>
        index == 0 ? new("RequestId", requestId) : throw new ArgumentOutOfRangeException(nameof(index));

    public int Count => 1;

    public IEnumerator<KeyValuePair<string, object>> GetEnumerator()
    {
        yield return this[0];
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => "RequestId=" + requestId;
}
