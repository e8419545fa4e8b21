using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Security;
using Crm.Functions.Http;
using Crm.Functions.Core.Store;
using Microsoft.AspNetCore.Mvc;
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

    /// <summary>
    /// Maps the real-time doors: the hub (behind <see cref="HubAuthentication"/>), <c>/negotiate</c>, the
    /// subscriptions and one change-feed endpoint per feed class. All HTTP doors enter through <see cref="ParseDoor"/>.
    /// </summary>
    public static void MapRealtimeApi(this WebApplication app)
    {
        var settings = app.Services.GetRequiredService<IOptions<RealtimeSettings>>().Value;
        // Middleware, not endpoint metadata: it must answer before SignalR's own negotiate on the hub path runs.
        app.UseMiddleware<HubAuthentication>();
        app.MapHub<RealtimeHub>(settings.HubPath);
        app.MapPost("/negotiate", NegotiateAsync).WithTags("Realtime")
            .WithSummary("Connect to real time").WithDescription("Answers {url, accessToken} of the SignalR hub for the signed-in caller.");
        app.MapSubscriptions();
        foreach (var className in settings.FeedClasses)
            app.MapPost($"/{className}Changes", (HttpContext context, [FromServices] ParseDoor door, [FromServices] RealtimeFanout fanout,
                [FromServices] ReaderCandidates candidates, [FromServices] SubscriptionEvents events) =>
                ChangeFeedAsync(context, door, fanout, candidates, events, className)).WithTags("Realtime")
                .WithSummary($"Cosmos change feed of {className}").WithDescription("Called by the Functions host with change-feed batches (master key); answers the SignalR messages.");
    }

    /// <summary>
    /// Returns <c>{url, accessToken}</c> for a signed-in caller: the app's hub and a hub token, or the Azure
    /// SignalR client URL and a service token. The SignalR clients follow this redirect by themselves.
    /// </summary>
    private static Task NegotiateAsync(HttpContext context, [FromServices] ParseDoor door, [FromServices] IOptions<RealtimeSettings> options,
        [FromServices] ReaderCandidates candidates, [FromServices] AzureConnection azureConnection, [FromServices] RealtimeSessions sessions,
        [FromServices] ILogger<RealtimeHub> log) =>
        door.ServeAsync(context, SessionTokenUse.RequireUser, async (auth, ct) =>
        {
            var settings = options.Value;
            var userId = auth.UserId!;
            var lifetime = TimeSpan.FromMinutes(settings.TokenMinutes);
            await candidates.SeenAsync(userId, TimeSpan.FromHours(settings.PresenceHours), ct);
            if (azureConnection.Service is not { } azure)
            {
                return new ApiResult(200, new JsonObject
                {
                    ["url"] = $"{context.Request.Scheme}://{context.Request.Host}{context.Request.PathBase}{settings.HubPath}",
                    ["accessToken"] = await sessions.IssueAsync(auth, context, lifetime, ct),
                });
            }
            try
            {
                return new ApiResult(200, new JsonObject { ["url"] = azure.ClientUrl(settings.HubName), ["accessToken"] = await azure.ClientTokenAsync(settings.HubName, userId, lifetime, ct) });
            }
            catch (RealtimeServiceException e)
            {
                // No Entra token, or the service refused or could not be reached: a Parse error the client can retry on.
                log.LogWarning(e, "Negotiate could not get a client token from Azure SignalR");
                throw new ParseException(ParseError.ConnectionFailed, "The real-time service is unavailable; try again.");
            }
        });

    /// <summary>
    /// A cosmosDBTrigger invocation: <c>{"Data": {"&lt;binding&gt;": [documents]}, "Metadata": {…}}</c>. Answers
    /// <c>{"Outputs": {"signalRMessages": [{target, arguments, userId}]}, "Logs": [], "ReturnValue": null}</c>.
    /// Only the Functions host (the app runs under it: FUNCTIONS_CUSTOMHANDLER_PORT, and then the host is the
    /// caller) or a master-key caller (from Parse:MasterKeyIps, like REST) may call it: the answer holds other users' events.
    /// </summary>
    private static Task ChangeFeedAsync(HttpContext context, ParseDoor door, RealtimeFanout fanout, ReaderCandidates candidates,
        SubscriptionEvents subscriptionEvents, string className)
    {
        var underHost = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("FUNCTIONS_CUSTOMHANDLER_PORT"));
        return door.ServeAsync(context, SessionTokenUse.Resolve, async (auth, ct) =>
        {
            RequestAuthenticator.RequireMaster(auth);
            JsonNode? body;
            try
            {
                body = await JsonNode.ParseAsync(context.Request.Body, null, new JsonDocumentOptions { MaxDepth = 64 }, ct);
            }
            catch (JsonException)
            {
                throw new ParseException(ParseError.InvalidJson, "Invalid JSON in the invocation.");
            }

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
            return new ApiResult(200, new JsonObject
            {
                ["Outputs"] = new JsonObject { [OutputBinding] = messages },
                ["Logs"] = logs,
                ["ReturnValue"] = null,
            });
        }, caller: underHost ? Auth.Master : null);
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
