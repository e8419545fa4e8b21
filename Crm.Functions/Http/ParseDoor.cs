using Crm.Functions.Core;
using Crm.Functions.Core.Files;
using Crm.Functions.Core.Requests;
using Crm.Functions.Core.Security;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Http;

/// <summary>
/// The shared way in for the HTTP doors beside the Parse REST route table (GraphQL, negotiate, subscriptions, the
/// change feed, and any door added later): the caller through <see cref="RequestAuthenticator"/>, then one request
/// budget, then the handler, then every failure through <see cref="ErrorResponses"/>. A door that goes through
/// here cannot forget any of the three. (The REST middleware does the same steps itself, because it must read the
/// body envelope and match the route before it knows how to authenticate.)
/// </summary>
internal sealed class ParseDoor(RequestAuthenticator authenticator, FileUrls fileUrls, IOptions<ParseSettings> options, ILogger<ParseDoor> log)
{
    private readonly BudgetLimits _limits = BudgetLimits.From(options.Value.Limits);

    /// <summary>
    /// Opens the budget of one request for the rest of the caller's async flow (a sync method, so the ambient budget
    /// flows back to the caller). For doors that are not HTTP requests, such as socket frames.
    /// </summary>
    public RequestBudget.Scope OpenBudget(Auth auth, System.Net.IPAddress? remoteIp) => RequestBudget.Begin(_limits, BudgetCaller(auth, remoteIp));

    /// <summary>The public URL of the Parse mount path for a request: Parse:PublicServerUrl, else the request's own.</summary>
    public static string ServerUrl(HttpRequest request, ParseSettings settings) =>
        settings.PublicServerUrl?.TrimEnd('/') ?? $"{request.Scheme}://{request.Host}{request.PathBase}{settings.MountPath}";

    /// <summary>Who a request's expensive work is counted against: the user, or the client IP when anonymous; nobody for the master key.</summary>
    internal static string? BudgetCaller(Auth auth, System.Net.IPAddress? remoteIp) =>
        auth.IsMaster ? null : auth.UserId ?? "ip:" + (remoteIp?.ToString() ?? "unknown");

    /// <summary>
    /// Serves one request. <paramref name="handle"/> answers, or returns null when it wrote the response itself.
    /// <paramref name="caller"/> is given when the transport already vouches for the caller (the Functions host);
    /// <paramref name="errorShape"/> lets a door keep its own error format (GraphQL) around the same status and code.
    /// <paramref name="envelope"/> holds what the door itself implies where the headers say nothing (MCP clients send no application id);
    /// <paramref name="readEnvelope"/> reads credentials a body carries (the JS SDK's file uploads) before the caller is resolved.
    /// </summary>
    public async Task ServeAsync(HttpContext context, SessionTokenUse tokenUse, Func<Auth, CancellationToken, Task<ApiResult?>> handle,
        Auth? caller = null, Func<ApiResult, ApiResult>? errorShape = null, Credentials envelope = default,
        Func<CancellationToken, Task<Credentials>>? readEnvelope = null)
    {
        var ct = context.RequestAborted;
        ApiResult? result;
        try
        {
            fileUrls.UseServerUrl(ServerUrl(context.Request, options.Value));
            RequestDoor.Enter(RequestTelemetry.DoorOf(context));
            if (readEnvelope is not null) envelope = await readEnvelope(ct);
            var auth = caller ?? await authenticator.AuthenticateAsync(context, envelope, tokenUse, ct);
            using var budget = OpenBudget(auth, context.Connection.RemoteIpAddress);
            result = await handle(auth, ct);
            RequestTelemetry.Spent(context, RequestBudget.Current);
        }
        catch (Exception e)
        {
            result = ErrorResponses.For(e, context, log);
            if (result is not null && errorShape is not null) result = errorShape(result);
        }
        if (result is not null) await ErrorResponses.WriteAsync(context, result);
    }
}
