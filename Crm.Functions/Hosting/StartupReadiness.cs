using Crm.Functions.Core;
using Crm.Functions.Http;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Hosting;

/// <summary>
/// Whether the server has finished starting. The app listens first and starts afterwards (opens the store, loads the
/// schema, applies the template): the Functions host waits a bounded time for a custom handler to open its port, and
/// a Cosmos account or a first Entra token can take longer than that on a cold start.
/// </summary>
internal sealed class StartupReadiness
{
    private volatile bool _ready;

    public bool IsReady => _ready;

    public void MarkReady() => _ready = true;
}

/// <summary>
/// Answers every request while the server is starting, before anything reaches the store: <c>/health</c> with
/// 503 <c>{"status":"starting"}</c> and <c>Retry-After: 1</c> (as Parse Server; the SDKs' offline queues poll it),
/// the liveness path as usual (the process is up), and anything else with a 503 Parse error the SDKs retry.
/// </summary>
internal sealed class StartupGateMiddleware(RequestDelegate next, StartupReadiness readiness, IOptions<ParseSettings> options)
{
    private readonly string _health = options.Value.MountPath + "/health";
    private readonly string _liveness = options.Value.MountPath + ServerApi.LivenessPath;

    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (readiness.IsReady || path.Equals(_liveness, StringComparison.OrdinalIgnoreCase)) return next(context);
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.RetryAfter = "1";
        context.Response.Headers.CacheControl = "no-store";
        return path.Equals(_health, StringComparison.OrdinalIgnoreCase)
            ? context.Response.WriteAsJsonAsync(new { status = "starting" })
            : context.Response.WriteAsJsonAsync(new { code = ParseError.InternalServerError, error = "The server is starting; retry in a moment." });
    }
}
