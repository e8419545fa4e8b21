using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Http;
using Microsoft.AspNetCore.Mvc;

namespace Crm.Functions.Realtime;

/// <summary>
/// The subscription door that works against both the app's hub and Azure SignalR Service (where clients cannot
/// invoke hub methods of ours): plain HTTP beside /negotiate, for the same callers. Events arrive on target
/// <c>event</c> of every connection of the user, with <c>subscriptionId</c>.
/// <list type="bullet">
/// <item><c>POST /realtime/subscriptions</c> <c>{"className", "where"?}</c> → 201 <c>{subscriptionId, className, where, expiresAt}</c>;
/// with <c>"subscriptionId"</c> of a live subscription of the caller: replaced and renewed, 200.</item>
/// <item><c>GET /realtime/subscriptions</c> → the caller's live subscriptions.</item>
/// <item><c>DELETE /realtime/subscriptions/{id}</c> → 200 <c>{}</c>; 101 when the caller has no such subscription.</item>
/// </list>
/// </summary>
internal static class SubscriptionsApi
{
    public const string Path = "/realtime/subscriptions";
    private const int MaxBodyBytes = 64 * 1024;

    public static void MapSubscriptions(this WebApplication app)
    {
        app.MapPost(Path, SubscribeAsync).WithTags("Realtime").WithSummary("Subscribe to a class's changes")
            .WithDescription("{className, where?}; renews the subscription named by subscriptionId. Events arrive on target \"event\".");
        app.MapGet(Path, ListAsync).WithTags("Realtime").WithSummary("The caller's subscriptions");
        app.MapDelete(Path + "/{id}", DeleteAsync).WithTags("Realtime").WithSummary("End a subscription");
    }

    private static Task SubscribeAsync(HttpContext context, [FromServices] ParseDoor door, [FromServices] SubscriptionStore store) =>
        door.ServeAsync(context, SessionTokenUse.RequireUser, async (auth, ct) =>
        {
            var body = await BodyAsync(context, ct);
            var className = Text(body, "className") ?? "";
            var renewId = Text(body, "subscriptionId");
            var (subscription, created) = await store.SaveAsync(auth, className, body["where"]?.DeepClone(), renewId, ct);
            var request = context.Request;
            return created
                ? ApiResult.Created(subscription.ToJson(), $"{request.Scheme}://{request.Host}{request.PathBase}{Path}/{subscription.Id}")
                : ApiResult.Ok(subscription.ToJson());
        });

    private static Task ListAsync(HttpContext context, [FromServices] ParseDoor door, [FromServices] SubscriptionStore store) =>
        door.ServeAsync(context, SessionTokenUse.RequireUser, async (auth, ct) =>
        {
            var list = await store.ListAsync(auth.UserId!, ct);
            return ApiResult.Ok(new JsonObject { ["results"] = new JsonArray([.. list.Select(s => (JsonNode)s.ToJson())]) });
        });

    private static Task DeleteAsync(HttpContext context, string id, [FromServices] ParseDoor door, [FromServices] SubscriptionStore store) =>
        door.ServeAsync(context, SessionTokenUse.RequireUser, async (auth, ct) =>
            await store.DeleteAsync(auth.UserId!, id, ct) ? ApiResult.Ok(new JsonObject()) : throw ParseException.NotFound());

    private static async Task<JsonObject> BodyAsync(HttpContext context, CancellationToken ct)
    {
        var tooLarge = new ParseException(ParseError.ObjectTooLarge, $"The subscription request exceeds {MaxBodyBytes} bytes.", 413);
        if (context.Request.ContentLength > MaxBodyBytes) throw tooLarge;
        // Counted while reading as well: a chunked body announces no length.
        using var body = new MemoryStream();
        var chunk = new byte[8192];
        for (int read; (read = await context.Request.Body.ReadAsync(chunk, ct)) > 0;)
        {
            if (body.Length + read > MaxBodyBytes) throw tooLarge;
            body.Write(chunk, 0, read);
        }
        body.Position = 0;
        try
        {
            return JsonNode.Parse(body, null, new JsonDocumentOptions { MaxDepth = 64 }) as JsonObject
                ?? throw new ParseException(ParseError.InvalidJson, "The body must be a JSON object.");
        }
        catch (JsonException)
        {
            throw new ParseException(ParseError.InvalidJson, "The body must be a JSON object.");
        }
    }

    /// <summary>A string member; anything else but absence or null is malformed (107).</summary>
    private static string? Text(JsonObject body, string name) => body[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        _ => throw new ParseException(ParseError.InvalidJson, $"{name} must be a string."),
    };
}
