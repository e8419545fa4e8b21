using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Security;
using Crm.Functions.Http;
using Crm.Functions.Core.Store;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Realtime;

/// <summary>
/// The HTTP doors of real time: <c>POST /negotiate</c> (SignalR's serverless negotiate contract), the
/// subscriptions (<see cref="SubscriptionsApi"/>) and the custom-handler endpoints the Functions host calls with Cosmos change-feed batches (<c>POST /DealChanges</c>, …).
/// </summary>
internal static class RealtimeApi
{
    /// <summary>Name of the signalR output binding in functions/*Changes/function.json.</summary>
    public const string OutputBinding = "signalRMessages";

    public static void MapRealtime(this WebApplication app)
    {
        var settings = app.Services.GetRequiredService<IOptions<RealtimeSettings>>().Value;
        app.MapHub<RealtimeHub>(settings.HubPath);
        app.MapPost("/negotiate", NegotiateAsync).WithTags("Realtime")
            .WithSummary("Connect to real time").WithDescription("Answers {url, accessToken} of the SignalR hub for the signed-in caller.");
        app.MapSubscriptions();
        foreach (var className in settings.FeedClasses)
            app.MapPost($"/{className}Changes", (HttpContext context, CancellationToken ct) => ChangeFeedAsync(context, className, ct)).WithTags("Realtime")
                .WithSummary($"Cosmos change feed of {className}").WithDescription("Called by the Functions host with change-feed batches (master key); answers the SignalR messages.");
    }

    /// <summary>
    /// Returns <c>{url, accessToken}</c> for a signed-in caller: the app's hub and a hub token, or the Azure
    /// SignalR client URL and a service token. The SignalR clients follow this redirect by themselves.
    /// </summary>
    private static Task NegotiateAsync(HttpContext context, CancellationToken ct) => AsCallerAsync(context, async auth =>
    {
        var sp = context.RequestServices;
        var settings = sp.GetRequiredService<IOptions<RealtimeSettings>>().Value;
        var userId = auth.UserId!;
        var lifetime = TimeSpan.FromMinutes(settings.TokenMinutes);
        await sp.GetRequiredService<ReaderCandidates>().SeenAsync(userId, TimeSpan.FromHours(settings.PresenceHours), ct);
        var azure = sp.GetRequiredService<AzureConnection>().Service;
        if (azure is null)
        {
            return new ApiResult(200, new JsonObject
            {
                ["url"] = $"{context.Request.Scheme}://{context.Request.Host}{context.Request.PathBase}{settings.HubPath}",
                ["accessToken"] = await sp.GetRequiredService<RealtimeSessions>().IssueAsync(auth, context, lifetime, ct),
            });
        }
        try
        {
            return new ApiResult(200, new JsonObject { ["url"] = azure.ClientUrl(settings.HubName), ["accessToken"] = await azure.ClientTokenAsync(settings.HubName, userId, lifetime, ct) });
        }
        catch (RealtimeServiceException e)
        {
            // No Entra token, or the service refused or could not be reached: a Parse error the client can retry on.
            sp.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(RealtimeApi)).LogWarning(e, "Negotiate could not get a client token from Azure SignalR");
            return ErrorResponses.From(new ParseException(ParseError.ConnectionFailed, "The real-time service is unavailable; try again."));
        }
    }, ct);

    /// <summary>
    /// Runs <paramref name="handle"/> for the caller of a real-time HTTP door (negotiate, subscriptions) and writes its
    /// answer; an unresolvable caller or a <see cref="ParseException"/> becomes a Parse error body.
    /// </summary>
    internal static async Task AsCallerAsync(HttpContext context, Func<Auth, Task<ApiResult>> handle, CancellationToken ct)
    {
        ApiResult result;
        try
        {
            result = await handle(await CallerAsync(context, context.RequestServices, ct));
        }
        catch (ParseException e)
        {
            result = ErrorResponses.From(e);
        }
        catch (UnauthorizedException e)
        {
            result = new ApiResult(401, ErrorResponses.Body(ParseError.InvalidSessionToken, e.Message));
        }
        await ParseMiddleware.WriteAsync(context, result);
    }

    /// <summary>
    /// The caller, resolved by the REST door's own code: a session token (X-Parse-Session-Token, or as a
    /// bearer "r:…" so a SignalR client's accessTokenFactory can carry it) or an Entra ID bearer token.
    /// Master and anonymous callers get 401: events are addressed to a user.
    /// </summary>
    private static async Task<Auth> CallerAsync(HttpContext context, IServiceProvider sp, CancellationToken ct)
    {
        var parse = sp.GetRequiredService<IOptions<ParseSettings>>().Value;
        var headers = context.Request.Headers;
        var appId = headers["X-Parse-Application-Id"].ToString();
        if (appId.Length > 0 && appId != parse.AppId) throw new UnauthorizedException("unauthorized");
        var token = headers["X-Parse-Session-Token"].ToString();
        var authorization = headers.Authorization.ToString();
        var bearer = authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization[7..].Trim() : "";
        if (token.Length == 0 && bearer.StartsWith("r:", StringComparison.Ordinal)) token = bearer;
        var authenticator = sp.GetRequiredService<RequestAuthenticator>();
        if (token.Length > 0) return await authenticator.SessionAsync(token, null, ct);
        if (bearer.Length > 0) return await authenticator.EntraAuthAsync(context, null, ct);
        throw new UnauthorizedException("A session token or a bearer token is required.");
    }

    /// <summary>
    /// A cosmosDBTrigger invocation: <c>{"Data": {"&lt;binding&gt;": [documents]}, "Metadata": {…}}</c>. Answers
    /// <c>{"Outputs": {"signalRMessages": [{target, arguments, userId}]}, "Logs": [], "ReturnValue": null}</c>.
    /// Only the Functions host (the app runs under it: FUNCTIONS_CUSTOMHANDLER_PORT) or a master-key caller
    /// may call it: the answer holds other users' events.
    /// </summary>
    private static async Task ChangeFeedAsync(HttpContext context, string className, CancellationToken ct)
    {
        var sp = context.RequestServices;
        var parse = sp.GetRequiredService<IOptions<ParseSettings>>().Value;
        var underHost = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("FUNCTIONS_CUSTOMHANDLER_PORT"));
        var master = context.Request.Headers["X-Parse-Master-Key"].ToString();
        if (!underHost && (string.IsNullOrEmpty(parse.MasterKey) || !string.Equals(master, parse.MasterKey, StringComparison.Ordinal)
                           || context.Connection.RemoteIpAddress is not { } ip || !System.Net.IPAddress.IsLoopback(ip)))
        {
            await ParseMiddleware.WriteAsync(context, ErrorResponses.Unauthorized("unauthorized"));
            return;
        }

        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(context.Request.Body, null, new JsonDocumentOptions { MaxDepth = 64 }, ct);
        }
        catch (JsonException)
        {
            await ParseMiddleware.WriteAsync(context, new ApiResult(400, ErrorResponses.Body(ParseError.InvalidJson, "Invalid JSON in the invocation.")));
            return;
        }

        var fanout = sp.GetRequiredService<RealtimeFanout>();
        var candidates = sp.GetRequiredService<ReaderCandidates>();
        var subscriptionEvents = sp.GetRequiredService<SubscriptionEvents>();
        var messages = new JsonArray();
        var logs = new JsonArray();
        foreach (var document in Documents(body))
        {
            if (ToStored(className, document) is not { } current)
            {
                logs.Add("Skipped a document without id, createdAt or updatedAt.");
                continue;
            }
            var deleted = document["_deleted"] is JsonValue d && d.TryGetValue(out bool isDeleted) && isDeleted;
            var before = deleted ? current : PreviousState.Before(current);
            var change = new ObjectChange(deleted ? "deleted" : before is null ? "created" : "updated", className, before, deleted ? null : current);
            var found = await fanout.FeedAsync(change, await candidates.ForAsync(change.Before, change.After, ct), ct);
            found.AddRange(await subscriptionEvents.ForAsync(change, null, ct));
            foreach (var message in found)
                messages.Add(new JsonObject { ["target"] = message.Target, ["arguments"] = new JsonArray(message.Payload), ["userId"] = message.UserId });
        }
        var response = new JsonObject
        {
            ["Outputs"] = new JsonObject { [OutputBinding] = messages },
            ["Logs"] = logs,
            ["ReturnValue"] = null,
        };
        await ParseMiddleware.WriteAsync(context, new ApiResult(200, response));
    }

    /// <summary>The documents of every binding in Data; the host may pass them as an array or as JSON text.</summary>
    private static IEnumerable<JsonObject> Documents(JsonNode? body)
    {
        if (body?["Data"] is not JsonObject data) yield break;
        foreach (var (_, value) in data)
        {
            var list = value;
            if (value is JsonValue text && text.TryGetValue(out string? json))
            {
                try { list = JsonNode.Parse(json, null, new JsonDocumentOptions { MaxDepth = 64 }); }
                catch (JsonException) { continue; }
            }
            if (list is JsonArray array)
                foreach (var item in array)
                    if (item is JsonObject document) yield return document;
        }
    }

    /// <summary>A change-feed document of the Cosmos store (<c>{id, ownerId, createdAt, updatedAt, acl, data}</c>) as a stored object.</summary>
    private static StoredObject? ToStored(string className, JsonObject document)
    {
        if (document["id"] is not JsonValue id || !id.TryGetValue(out string? objectId)
            || document["createdAt"] is not JsonValue c || !c.TryGetValue(out string? createdAt)
            || document["updatedAt"] is not JsonValue u || !u.TryGetValue(out string? updatedAt))
            return null;
        return new StoredObject
        {
            ClassName = className,
            ObjectId = objectId,
            OwnerId = document["ownerId"] is JsonValue o && o.TryGetValue(out string? owner) ? owner : "",
            CreatedAt = createdAt,
            UpdatedAt = updatedAt,
            Acl = document["acl"]?.DeepClone() as JsonObject,
            Data = document["data"]?.DeepClone() as JsonObject ?? [],
        };
    }
}
