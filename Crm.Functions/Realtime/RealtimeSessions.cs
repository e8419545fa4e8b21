using System.Globalization;
using Crm.Functions.Core;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Users;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Crm.Functions.Realtime;

/// <summary>
/// Ties real time to the sessions behind it, so that logging out or changing the password cuts off real time too:
/// <list type="bullet">
/// <item>hub tokens name the caller's session (its object id); a connection opens only while that session lives, and
/// lasts at most until the session expires. Entra callers have no session: their connection lasts at most until their
/// bearer token expires (<c>until</c> in the hub token).</item>
/// <item>when a session ends on this instance (<see cref="SessionService.Ended"/>) its hub connections are closed at
/// once, its stored subscriptions deleted, and on Azure SignalR Service the user's connections closed.</item>
/// <item>every <see cref="RealtimeSettings.SessionCheckSeconds"/> open connections are checked against the store, for
/// sessions ended on another instance, and against their end.</item>
/// </list>
/// </summary>
internal sealed class RealtimeSessions(
    HubTokens tokens,
    SessionService sessions,
    Subscriptions connections,
    SubscriptionStore stored,
    AzureConnection azureConnection,
    IOptions<RealtimeSettings> options,
    TimeProvider time,
    ILogger<RealtimeSessions> log) : BackgroundService
{
    public const string SessionClaim = "sid", UntilClaim = "until";

    private readonly RealtimeSettings _settings = options.Value;

    /// <summary>The hub token for a caller of /negotiate, bound to its session or, for an Entra caller, to its bearer's expiry.</summary>
    public async Task<string> IssueAsync(Auth auth, HttpContext context, TimeSpan lifetime, CancellationToken ct)
    {
        if (auth.SessionToken is not { } token) return tokens.Issue(auth.UserId!, lifetime, until: BearerExpiry(context));
        var session = await sessions.ResolveAsync(token, ct) ?? throw new ParseException(ParseError.InvalidSessionToken, "Invalid session token");
        return tokens.Issue(auth.UserId!, lifetime, session.ObjectId);
    }

    /// <summary>Who may open a connection with this token now: null when the token is invalid or its session or bearer ended.</summary>
    public async Task<HubIdentity?> ValidateAsync(string? token, CancellationToken ct)
    {
        if (await tokens.ValidateAsync(token) is not { } identity) return null;
        if (identity.SessionId is null) return identity.Until is { } until && until <= time.GetUtcNow() ? null : identity;
        var session = await sessions.FindByIdAsync(identity.SessionId, ct);
        return session is not null && session.UserId == identity.UserId ? identity with { Until = ExpiryOf(session) } : null;
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        sessions.Ended += OnEnded;
        return base.StartAsync(cancellationToken);
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        sessions.Ended -= OnEnded;
        return base.StopAsync(cancellationToken);
    }

    private void OnEnded(SessionInfo session)
    {
        connections.CloseSession(session.ObjectId);
        _ = EndElsewhereAsync(session);
    }

    private async Task EndElsewhereAsync(SessionInfo session)
    {
        try
        {
            await stored.DeleteForSessionAsync(session.UserId, session.ObjectId, CancellationToken.None);
            // The service's client tokens name the user only, so all of the user's connections close; the user's
            // clients reconnect with the sessions they still have.
            if (azureConnection.Service is { } azure)
                await azure.CloseUserConnectionsAsync(_settings.HubName, session.UserId, "The session ended.", CancellationToken.None);
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Could not end the real time of an ended session of user {UserId}", session.UserId);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, _settings.SessionCheckSeconds)), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await CheckConnectionsAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    log.LogWarning(e, "Checking real-time connections against their sessions failed");
                }
            }
        }
        catch (OperationCanceledException)
        {
            // shutting down
        }
    }

    private async Task CheckConnectionsAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        foreach (var connection in connections.Connections.Where(c => c.Until <= now)) connection.Abort();
        foreach (var bySession in connections.Connections.Where(c => c.SessionId is not null).GroupBy(c => c.SessionId!, StringComparer.Ordinal))
        {
            if (await sessions.FindByIdAsync(bySession.Key, ct) is null)
                foreach (var connection in bySession) connection.Abort();
        }
    }

    private static DateTimeOffset? ExpiryOf(SessionInfo session) =>
        ParseDates.TryNormalize(session.ExpiresAt, out var iso) ? ParseDates.Parse(iso) : null;

    /// <summary>The expiry of the caller's Entra bearer token (already validated by the door), if it has one.</summary>
    private static DateTimeOffset? BearerExpiry(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return null;
        try
        {
            var expires = new JsonWebToken(header[7..].Trim()).ValidTo;
            return expires == DateTime.MinValue ? null : new DateTimeOffset(expires, TimeSpan.Zero);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>The claims the hub reads back in <see cref="RealtimeHub.OnConnectedAsync"/>.</summary>
    public static IEnumerable<System.Security.Claims.Claim> Claims(HubIdentity identity)
    {
        yield return new(System.Security.Claims.ClaimTypes.NameIdentifier, identity.UserId);
        if (identity.SessionId is { } sid) yield return new(SessionClaim, sid);
        if (identity.Until is { } until) yield return new(UntilClaim, until.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>The session and end of a connection, from its claims.</summary>
    public static (string? SessionId, DateTimeOffset? Until) FromClaims(System.Security.Claims.ClaimsPrincipal? user) =>
        (user?.FindFirst(SessionClaim)?.Value,
         long.TryParse(user?.FindFirst(UntilClaim)?.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? DateTimeOffset.FromUnixTimeSeconds(s) : null);
}
