using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Files;
using Crm.Functions.Core.Requests;
using Crm.Functions.Core.Security;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Http;

/// <summary>
/// The Parse REST door: everything between the socket and a Parse handler. The request is read by
/// <see cref="ParseRequestReader"/> (body, JS SDK envelope, query string), the caller resolved by
/// <see cref="RequestAuthenticator"/>, the request budget opened, the call dispatched through <see cref="ParseRouter"/>,
/// and every failure answered through <see cref="ErrorResponses"/>.
/// </summary>
internal sealed class ParseMiddleware(
    RequestDelegate next,
    ParseRouter router,
    RequestAuthenticator authenticator,
    FileUrls fileUrls,
    DuplicateRequests duplicates,
    IOptions<ParseSettings> options,
    ILogger<ParseMiddleware> log)
{
    private readonly ParseSettings _settings = options.Value;
    private readonly BudgetLimits _limits = BudgetLimits.From(options.Value.Limits);

    public async Task InvokeAsync(HttpContext context)
    {
        // The account pages (apps/{appId}/…) are ordinary endpoints under the mount path: HTML, not Parse JSON.
        if (!context.Request.Path.StartsWithSegments(_settings.MountPath, out var rest) || context.GetEndpoint() is not null)
        {
            await next(context);
            return;
        }
        AddCorsHeaders(context.Response.Headers);
        ApiResult? result;
        try
        {
            result = await HandleAsync(context, rest.Value ?? "/", context.RequestAborted);
        }
        catch (Exception e)
        {
            result = ErrorResponses.For(e, context, log);
        }
        if (result is not null) await ErrorResponses.WriteAsync(context, result);
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

    private async Task<ApiResult?> HandleAsync(HttpContext context, string path, CancellationToken ct)
    {
        var request = context.Request;
        if (HttpMethods.IsOptions(request.Method)) return ApiResult.Empty();
        // Routes that stream their bodies (files) read the request themselves, through ParseDoor.
        if (router.Match(request.Method.ToUpperInvariant(), path) is { Route.Raw: { } raw } direct)
        {
            RequestTelemetry.Describe(context, direct.Route.Function, _settings.MountPath + direct.Route.Template);
            await raw(context, direct.Values);
            return null;
        }

        var body = await ParseRequestReader.ReadBodyAsync(request, _settings.Limits.MaxBodyBytes, ct);
        var method = request.Method.ToUpperInvariant();
        if (method == "POST" && body["_method"] is JsonValue m && m.TryGetValue(out string? overridden))
        {
            method = overridden.ToUpperInvariant();
            if (method is not ("GET" or "POST" or "PUT" or "DELETE"))
                throw new ParseException(ParseError.InvalidJson, $"Unsupported _method {Names(overridden)}.");
        }
        body.Remove("_method");
        var envelope = ParseRequestReader.TakeEnvelope(body);
        if (method == "GET") ParseRequestReader.MergeQuery(request.Query, body);

        var match = router.Match(method, path)
                    ?? throw new RouteNotFoundException($"Cannot {method} {Names(_settings.MountPath + path)}");
        var (route, values) = match;
        RequestTelemetry.Describe(context, route.Function == "batch" ? "batch" : "rest", _settings.MountPath + route.Template,
            values.TryGetValue("className", out var className) ? className : null);
        var auth = route.Function is "health" or "liveness" ? Auth.Anonymous : await authenticator.AuthenticateAsync(context, envelope, TokenUse(route), ct);
        var serverUrl = ParseDoor.ServerUrl(request, _settings);
        fileUrls.UseServerUrl(serverUrl);
        // One budget for the whole call: a /batch spends it across all its sub-requests.
        using var budget = RequestBudget.Begin(_limits, ParseDoor.BudgetCaller(auth, context.Connection.RemoteIpAddress));

        var call = new ParseCall
        {
            Method = method,
            Path = path,
            Body = body,
            Auth = auth,
            Route = values,
            ServerUrl = serverUrl,
            InstallationId = auth.InstallationId ?? envelope.InstallationId,
            // /sessions/me and /logout judge the token themselves, so they need it whichever way it was sent.
            RawSessionToken = context.Request.Headers.TryGetValue("X-Parse-Session-Token", out var header) && header.Count > 0
                ? header[0] : envelope.SessionToken,
        };
        // A retried write the server has seen (Parse:Idempotency) answers 159 before it runs again.
        if (request.Headers.TryGetValue("X-Parse-Request-Id", out var requestId) && requestId is [{ Length: > 0 } id]
            && duplicates.Guards(route.Function, method, path))
            await duplicates.ClaimAsync(id, ct);
        var result = await route.InvokeAsync(call, ct);
        RequestTelemetry.Spent(context, RequestBudget.Current);
        return result;
    }

    // /login ignores any token sent with it; /logout and /sessions/me judge it themselves.
    private static SessionTokenUse TokenUse(ParseRoute route) => route.Function switch
    {
        "login" => SessionTokenUse.IgnoreNoBearer,
        "logout" => SessionTokenUse.PassThrough,
        _ when route.Template == "/sessions/me" => SessionTokenUse.Ignore,
        _ => SessionTokenUse.Resolve,
    };

    private static string Names(string value) => Core.Json.Names.Truncate(value);

}

/// <summary>No route matches: a JSON 404, never HTML (the PHP SDK throws on text/html).</summary>
internal sealed class RouteNotFoundException(string message) : Exception(message);

/// <summary>Maps the Parse REST door, like the other families' <c>Map…Api</c>.</summary>
internal static class ParseApi
{
    /// <summary>
    /// The door is middleware under the mount path rather than one endpoint per route: its routes live in
    /// <see cref="ParseRouter"/>, which <c>/batch</c> dispatches through too and the Functions package mirrors.
    /// </summary>
    public static void MapParseApi(this WebApplication app) => app.UseMiddleware<ParseMiddleware>();
}
