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

    /// <summary>Records the request's duration under its door, route template and status.</summary>
    public static void Record(HttpContext context, TimeSpan elapsed)
    {
        var (door, route) = context.Items[typeof(Description)] is Description d ? (d.Door, d.Route) : FromEndpoint(context);
        CrmTelemetry.RecordRequest(door, route, context.Response.StatusCode, elapsed);
    }

    private static (string Door, string Route) FromEndpoint(HttpContext context)
    {
        if (context.GetEndpoint() is not RouteEndpoint endpoint) return ("web", "(other)");
        var route = endpoint.RoutePattern.RawText ?? "(other)";
        if (endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.SignalR.HubMetadata>() is not null) return ("signalr", route);
        var tag = endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Http.Metadata.ITagsMetadata>()?.Tags is { Count: > 0 } tags ? tags[0] : null;
        return (tag?.ToLowerInvariant() ?? "web", route);
    }
}
