using System.Security.Claims;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Http;
using Microsoft.AspNetCore.SignalR;

namespace Crm.Functions.Realtime;

/// <summary>
/// The app's own hub (local runs, tests, self-hosting). Connections are authenticated by
/// <see cref="HubAuthentication"/> before they reach it; <see cref="HubCallerContext.UserIdentifier"/> is the
/// Parse user id, so user-targeted sends work as with Azure SignalR Service.
/// </summary>
internal sealed class RealtimeHub(Subscriptions subscriptions, RealtimeFanout fanout) : Hub
{
    public override Task OnConnectedAsync()
    {
        var (sessionId, until) = RealtimeSessions.FromClaims(Context.User);
        // Over the per-user cap (two connects racing past HubAuthentication's check): closed at once.
        if (Context.UserIdentifier is not { } userId
            || !subscriptions.TryConnect(Context.ConnectionId, new Subscriptions.Connection(userId, sessionId, until, Context.Abort)))
        {
            Context.Abort();
            return Task.CompletedTask;
        }
        return base.OnConnectedAsync();
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        subscriptions.Disconnected(Context.ConnectionId);
        return base.OnDisconnectedAsync(exception);
    }

    /// <summary>Subscribes to changes of a class matching a Parse where JSON; returns the subscription id.</summary>
    public async Task<string> Subscribe(string className, string? where)
    {
        try
        {
            var auth = await fanout.AuthForAsync(Context.UserIdentifier!, Context.ConnectionAborted);
            return subscriptions.Add(Context.ConnectionId, auth, className, where).Id;
        }
        catch (ParseException e)
        {
            // The client sees this text; the Parse code lets it react as it would to a REST error.
            throw new HubException(new JsonObject { ["code"] = e.Code, ["error"] = e.Message }.ToJsonString());
        }
    }

    public bool Unsubscribe(string subscriptionId) => subscriptions.Remove(Context.ConnectionId, subscriptionId);
}

/// <summary>
/// Guards the hub path: a valid hub token as a bearer header or, for WebSockets and SSE which cannot send headers
/// from browsers, the <c>access_token</c> query parameter. Hub tokens are minted by <c>/negotiate</c> only after
/// <see cref="RequestAuthenticator"/> resolved a signed-in user (application id, client key, session or Entra ID),
/// so holding one is that check's proof. Anything else (forged, expired, a raw session token, none) is refused
/// before SignalR runs, with the answer every door gives a bad token (400, code 209).
/// </summary>
internal sealed class HubAuthentication(RequestDelegate next, RealtimeSessions sessions, Subscriptions connections, Microsoft.Extensions.Options.IOptions<RealtimeSettings> settings)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (!context.Request.Path.StartsWithSegments(settings.Value.HubPath))
        {
            await next(context);
            return;
        }
        var header = context.Request.Headers.Authorization.ToString();
        var token = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : context.Request.Query["access_token"].ToString();
        if (await sessions.ValidateAsync(token, context.RequestAborted) is not { } identity)
        {
            await ErrorResponses.WriteAsync(context, ErrorResponses.From(new ParseException(ParseError.InvalidSessionToken, "Invalid or expired real-time access token.")));
            return;
        }
        // Counted where a connection starts (SignalR's negotiate); later requests of an open connection (long polling) are not.
        if (context.Request.Path.Value!.EndsWith("/negotiate", StringComparison.Ordinal)
            && connections.ConnectionCount(identity.UserId) >= settings.Value.MaxConnectionsPerUser)
        {
            context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            context.Response.ContentType = "application/json; charset=utf-8";
            await context.Response.WriteAsync($$"""{"code":100,"error":"At most {{settings.Value.MaxConnectionsPerUser}} real-time connections per user (Realtime:MaxConnectionsPerUser)."}""");
            return;
        }
        context.User = new ClaimsPrincipal(new ClaimsIdentity(RealtimeSessions.Claims(identity), "crm-realtime"));
        await next(context);
    }
}
