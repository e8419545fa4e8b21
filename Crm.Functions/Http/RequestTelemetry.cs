using Crm.Functions.Core.Requests;
using Crm.Functions.Core.Telemetry;
using Microsoft.AspNetCore.Http.Features;

namespace Crm.Functions.Http;

/// <summary>
/// Names each request for traces and metrics by its door and route template (never its raw path, which holds ids
/// and class names a caller chose): the REST door describes itself once it has matched a Parse route; endpoint doors
/// (GraphQL, real time, docs, SignalR hubs) are named from their endpoint. <see cref="WebEdgeMiddleware"/> records
/// the duration once the answer is out.
/// </summary>
internal static class RequestTelemetry
{
    private sealed record Description(string Door, string Route);

    /// <summary>Names the request (the server span's name and <c>http.route</c> follow) and tags its span.</summary>
    public static void Describe(HttpContext context, string door, string route, string? className = null)
    {
        context.Items[typeof(Description)] = new Description(door, route);
        RequestDoor.Enter(door);
        if (context.Features.Get<IHttpActivityFeature>()?.Activity is not { } activity) return;
        activity.DisplayName = $"{context.Request.Method} {route}";
        activity.SetTag("http.route", route);
        activity.SetTag("crm.door", door);
        if (className is not null) activity.SetTag("crm.class", className);
    }

    /// <summary>What the request's budget spent, on its span (counts and times only).</summary>
    public static void Spent(HttpContext context, RequestBudget? budget)
    {
        if (budget is null || context.Features.Get<IHttpActivityFeature>()?.Activity is not { } activity) return;
        activity.SetTag("crm.budget.statements", budget.Statements);
        activity.SetTag("crm.budget.objects", budget.Objects);
        activity.SetTag("crm.budget.regex_ms", Math.Round(budget.RegexTime.TotalMilliseconds, 3));
    }

    private sealed record Refusal(int Code);

    /// <summary>
    /// The Parse error code a refusal carried, on the request's span and in its access-log line: a 400 alone does not
    /// tell an on-call engineer (or a test reading the log) whether a body was malformed or a rule said no.
    /// </summary>
    public static void Refused(HttpContext context, int code)
    {
        context.Items[typeof(Refusal)] = new Refusal(code);
        context.Features.Get<IHttpActivityFeature>()?.Activity?.SetTag("crm.error.code", code);
    }

    /// <summary>The Parse error code of the answer, when it was a refusal written by <see cref="Refused"/>.</summary>
    public static int? RefusalCode(HttpContext context) => context.Items[typeof(Refusal)] is Refusal r ? r.Code : null;

    private sealed record Abandonment;

    /// <summary>Marks the request as abandoned by its client, for a case <c>RequestAborted</c> does not show yet.</summary>
    public static void Abandon(HttpContext context) => context.Items[typeof(Abandonment)] = new Abandonment();

    /// <summary>True when the client went away before the answer: it was never received, whatever its status.</summary>
    public static bool WasAbandoned(HttpContext context) =>
        context.RequestAborted.IsCancellationRequested || context.Items.ContainsKey(typeof(Abandonment));

    /// <summary>HTTP 499, "client closed request": what a request the client abandoned is counted under.</summary>
    public const int Abandoned = 499;

    /// <summary>Records the request's duration under its door, route template and status (499 when abandoned).</summary>
    public static void Record(HttpContext context, TimeSpan elapsed, bool abandoned)
    {
        var (door, route) = context.Items[typeof(Description)] is Description d ? (d.Door, d.Route) : FromEndpoint(context);
        CrmTelemetry.RecordRequest(door, route, abandoned ? Abandoned : context.Response.StatusCode, elapsed);
    }

    /// <summary>The door of the request: as described, else from its endpoint's tag (graphql, mcp, …).</summary>
    public static string DoorOf(HttpContext context) => context.Items[typeof(Description)] is Description d ? d.Door : FromEndpoint(context).Door;

    private static (string Door, string Route) FromEndpoint(HttpContext context)
    {
        if (context.GetEndpoint() is not RouteEndpoint endpoint) return ("web", "(other)");
        var route = endpoint.RoutePattern.RawText ?? "(other)";
        if (endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.SignalR.HubMetadata>() is not null) return ("signalr", route);
        var tag = endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Http.Metadata.ITagsMetadata>()?.Tags is { Count: > 0 } tags ? tags[0] : null;
        return (tag?.ToLowerInvariant() ?? "web", route);
    }
}
