using System.Text.Json.Nodes;
using Crm.Functions.Core.Security;

namespace Crm.Functions.Http;

/// <summary>
/// One Parse API call after transport details are gone: the effective method (after <c>_method</c>), the
/// body with the JS SDK envelope stripped and the query string merged, and the resolved caller. Batch
/// sub-requests are calls too, built from the outer request's caller.
/// </summary>
internal sealed class ParseCall
{
    public required string Method { get; init; }
    public required string Path { get; init; }
    public required JsonObject Body { get; init; }
    public required Auth Auth { get; init; }
    public required IReadOnlyDictionary<string, string> Route { get; init; }
    /// <summary>Public URL of the mount path, for Location headers.</summary>
    public required string ServerUrl { get; init; }
    public string? InstallationId { get; init; }
    /// <summary>The session token the request carried, even if it was not resolved (login ignores it).</summary>
    public string? RawSessionToken { get; init; }

    public string RouteValue(string name) => Route.TryGetValue(name, out var v) ? v : "";
}

/// <summary>A handler's answer: status, JSON body and optional Location.</summary>
internal sealed record ApiResult(int Status, JsonNode Body, string? Location = null)
{
    public static ApiResult Ok(JsonNode body) => new(200, body);
    public static ApiResult Created(JsonNode body, string location) => new(201, body, location);
    public static ApiResult Empty() => new(200, new JsonObject());
}

internal delegate Task<ApiResult> ParseHandler(ParseCall call, CancellationToken ct);

/// <summary>A route that reads and answers the HTTP exchange itself: file bodies are streamed, not JSON.</summary>
internal delegate Task RawHandler(HttpContext context, IReadOnlyDictionary<string, string> route);

/// <summary>
/// One Parse route: the name is also the Azure Functions function name it is deployed as. A route with
/// <paramref name="Raw"/> is served by it directly (outside <c>/batch</c>, whose sub-requests are JSON).
/// </summary>
internal sealed record ParseRoute(string Function, string[] Methods, string Template, ParseHandler Handler, bool MasterOnly = false, RawHandler? Raw = null)
{
    /// <summary>
    /// The one dispatch of a call to its handler, for requests and <c>/batch</c> sub-requests alike, so the
    /// master-only check cannot be skipped by wrapping a call in a batch.
    /// </summary>
    public Task<ApiResult> InvokeAsync(ParseCall call, CancellationToken ct)
    {
        if (MasterOnly) RequestAuthenticator.RequireMaster(call.Auth);
        return Handler(call, ct);
    }
}
