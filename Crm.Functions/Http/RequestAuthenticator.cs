using System.Net;
using System.Security.Cryptography;
using System.Text;
using Crm.Functions.Core;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Users;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Http;

/// <summary>
/// What a caller presents, however it was sent: Parse headers, the JS SDK body envelope (<c>_ApplicationId</c>, …),
/// or a frame of a socket door. <see cref="Authorization"/> is the raw header (Basic app id and master key, or a
/// bearer: an Entra ID token or a session token <c>r:…</c>, which SignalR's accessTokenFactory sends).
/// A struct: REST reads one per request.
/// </summary>
internal readonly record struct Credentials(
    string? AppId, string? MasterKey, string? SessionToken, string? InstallationId, string? ClientKey, string? Authorization = null)
{
    /// <summary>The Parse headers, each falling back to the body envelope's value.</summary>
    public static Credentials From(IHeaderDictionary headers, Credentials envelope)
    {
        string? Header(string name) => headers.TryGetValue(name, out var v) && v.Count > 0 ? v[0] : null;
        return new Credentials(
            Header("X-Parse-Application-Id") ?? envelope.AppId,
            Header("X-Parse-Master-Key") ?? envelope.MasterKey,
            Header("X-Parse-Session-Token") ?? envelope.SessionToken,
            Header("X-Parse-Installation-Id") ?? envelope.InstallationId,
            Header("X-Parse-Client-Key") ?? Header("X-Parse-REST-API-Key") ?? Header("X-Parse-Javascript-Key")
                ?? Header("X-Parse-Windows-Key") ?? envelope.ClientKey,
            Header("Authorization") ?? envelope.Authorization);
    }
}

/// <summary>What a door does with the session token the request carries.</summary>
internal enum SessionTokenUse
{
    /// <summary>Resolve it into the caller (209 when unknown or expired); bearer tokens are accepted too.</summary>
    Resolve,
    /// <summary>Do not resolve it (/login ignores any token; /sessions/me judges it itself); bearer tokens are accepted.</summary>
    Ignore,
    /// <summary>Hand it over unresolved in <see cref="Auth.SessionToken"/> (/logout revokes it itself); no bearer tokens.</summary>
    PassThrough,
    /// <summary>Like <see cref="Ignore"/> but without bearer tokens (/login).</summary>
    IgnoreNoBearer,
    /// <summary>
    /// Like <see cref="Resolve"/>, and the caller must be a signed-in user (real-time doors: events are addressed to
    /// users). Master and anonymous callers get <see cref="RequestAuthenticator.NoUser"/>.
    /// </summary>
    RequireUser,
}

/// <summary>
/// Turns what a caller presents into the caller, for every door (Parse REST and its batches, GraphQL, negotiate,
/// subscriptions, the change feed, socket doors): the application id (403), client keys (403), the master key
/// (constant-time compare, restricted to Parse:MasterKeyIps, 403 elsewhere), the session token (209) and Entra
/// ID bearer tokens (209). One copy, so no door can be laxer than another, and one caller gets one answer everywhere.
/// </summary>
internal sealed class RequestAuthenticator(
    UserService users,
    EntraUsers entraUsers,
    IServiceProvider services,
    IOptions<ParseSettings> options,
    ILogger<RequestAuthenticator> log)
{
    private readonly ParseSettings _settings = options.Value;
    private readonly IReadOnlyList<IPNetwork> _masterKeyNetworks = options.Value.EffectiveMasterKeyIps.Select(IPNetwork.Parse).ToList();
    private readonly string[] _clientKeys = new[] { options.Value.ClientKey, options.Value.JavaScriptKey, options.Value.RestApiKey, options.Value.DotNetKey }
        .Where(k => !string.IsNullOrEmpty(k)).Select(k => k!).ToArray();

    /// <summary>
    /// The answer for "a signed-in user is required and there is none" (no credentials, master key only): REST's
    /// answer for a missing session (GET /users/me without a token), 400 with code 209 — the same code as an unknown
    /// token, so clients have one branch for "sign in again". A wrong application id or client key stays a 403.
    /// </summary>
    public static ParseException NoUser() => new(ParseError.InvalidSessionToken, "A session token or a bearer token is required.");

    /// <summary>The one master-only check: routes and doors that act for the whole app refuse everyone else with a 403.</summary>
    public static void RequireMaster(Auth auth)
    {
        if (!auth.IsMaster) throw new UnauthorizedException("unauthorized: master key is required");
    }

    /// <summary>The caller of an HTTP request: its headers, falling back to the body <paramref name="envelope"/>.</summary>
    public Task<Auth> AuthenticateAsync(HttpContext context, Credentials envelope, SessionTokenUse tokenUse, CancellationToken ct) =>
        AuthenticateAsync(Credentials.From(context.Request.Headers, envelope), context.Connection.RemoteIpAddress, tokenUse, ct, context);

    /// <summary>
    /// The caller behind <paramref name="credentials"/> sent from <paramref name="remoteIp"/>. Throws
    /// <see cref="UnauthorizedException"/> (403) or <see cref="ParseException"/> 209. <paramref name="context"/> is
    /// the HTTP request when there is one (the Entra ID handler reads it); socket doors pass none.
    /// </summary>
    public async Task<Auth> AuthenticateAsync(Credentials credentials, IPAddress? remoteIp, SessionTokenUse tokenUse, CancellationToken ct, HttpContext? context = null) =>
        (await CallerAsync(credentials, remoteIp, tokenUse, context, ct)).At(remoteIp?.ToString());

    private async Task<Auth> CallerAsync(Credentials credentials, IPAddress? remoteIp, SessionTokenUse tokenUse, HttpContext? context, CancellationToken ct)
    {
        var (basicAppId, basicMaster) = BasicCredentials(credentials.Authorization);
        // The application id is no secret (every client ships it): an ordinary comparison. Keys are compared in constant time.
        if (string.IsNullOrEmpty(_settings.AppId) || !string.Equals(credentials.AppId ?? basicAppId, _settings.AppId, StringComparison.Ordinal))
            throw new UnauthorizedException();

        var installationId = credentials.InstallationId;
        var masterKey = credentials.MasterKey ?? basicMaster;
        if (masterKey is not null && FixedEquals(masterKey, _settings.MasterKey))
        {
            if (remoteIp is null || !_masterKeyNetworks.Any(n => n.Contains(remoteIp.IsIPv4MappedToIPv6 ? remoteIp.MapToIPv4() : remoteIp)))
                throw new UnauthorizedException();
            if (tokenUse == SessionTokenUse.RequireUser) throw NoUser();
            return new Auth { IsMaster = true, InstallationId = installationId };
        }
        CheckClientKey(credentials.ClientKey);

        var token = credentials.SessionToken;
        var bearerAllowed = tokenUse is SessionTokenUse.Resolve or SessionTokenUse.Ignore or SessionTokenUse.RequireUser;
        var bearer = bearerAllowed && credentials.Authorization is { } authorization
                     && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization[7..].Trim() : null;
        if (string.IsNullOrEmpty(token) && bearer is not null)
        {
            // A bearer "r:…" is a session token (SignalR clients can only send their token this way); any other is Entra ID's.
            if (!bearer.StartsWith("r:", StringComparison.Ordinal)) return await EntraAuthAsync(credentials.Authorization!, context, installationId, ct);
            token = bearer;
        }
        if (string.IsNullOrEmpty(token))
        {
            if (tokenUse == SessionTokenUse.RequireUser) throw NoUser();
            return new Auth { InstallationId = installationId, SessionToken = tokenUse == SessionTokenUse.PassThrough ? token : null };
        }
        if (tokenUse is not (SessionTokenUse.Resolve or SessionTokenUse.RequireUser))
            return new Auth { InstallationId = installationId, SessionToken = tokenUse == SessionTokenUse.PassThrough ? token : null };
        return await SessionAsync(token, installationId, ct);
    }

    /// <summary>The caller behind a session token; 209 when unknown or expired.</summary>
    private async Task<Auth> SessionAsync(string token, string? installationId, CancellationToken ct)
    {
        if (token.Length > 128) throw new ParseException(ParseError.InvalidSessionToken, "Invalid session token");
        return await users.AuthFromSessionAsync(token, installationId, ct)
               ?? throw new ParseException(ParseError.InvalidSessionToken, "Invalid session token");
    }

    /// <summary>
    /// An Entra ID bearer token, validated by Microsoft.Identity.Web's JwtBearer handler (issuer, audience,
    /// signature, lifetime); the caller then becomes the linked _User, exactly like a session user. The handler
    /// reads an HTTP request: a door without one gets a stand-in request carrying just the Authorization header.
    /// </summary>
    private async Task<Auth> EntraAuthAsync(string authorization, HttpContext? context, string? installationId, CancellationToken ct)
    {
        // Bearer tokens are accepted only when Entra ID is configured (the AzureAd section names a client id).
        var schemes = services.GetService<IAuthenticationSchemeProvider>();
        if (schemes is null || await schemes.GetSchemeAsync(JwtBearerDefaults.AuthenticationScheme) is null)
            throw new ParseException(ParseError.InvalidSessionToken, "Bearer tokens are not accepted: Entra ID is not configured.");
        await using var scope = context is null ? services.CreateAsyncScope() : (AsyncServiceScope?)null;
        if (context is null)
        {
            context = new DefaultHttpContext { RequestServices = scope!.Value.ServiceProvider };
            context.Request.Headers.Authorization = authorization;
        }
        var result = await context.AuthenticateAsync(JwtBearerDefaults.AuthenticationScheme);
        if (!result.Succeeded || result.Principal is null)
        {
            var reason = result.Failure?.Message ?? "no token";
            log.LogInformation("Rejected a bearer token: {Reason}", reason);
            throw new ParseException(ParseError.InvalidSessionToken, "Invalid bearer token");
        }
        var userId = await entraUsers.UserIdForAsync(result.Principal, ct);
        return await users.AuthForUserAsync(userId, null, installationId, ct);
    }

    private void CheckClientKey(string? presented)
    {
        if (_clientKeys.Length == 0) return;
        if (presented is null || !_clientKeys.Any(k => FixedEquals(presented, k))) throw new UnauthorizedException();
    }

    private static (string? AppId, string? MasterKey) BasicCredentials(string? authorization)
    {
        if (authorization is null || !authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase)) return (null, null);
        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(authorization[6..].Trim()));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0) return (decoded, null);
            var secret = decoded[(colon + 1)..];
            return (decoded[..colon], secret.StartsWith("javascript-key=", StringComparison.Ordinal) ? null : secret);
        }
        catch (FormatException)
        {
            return (null, null);
        }
    }

    /// <summary>Constant-time comparison: key checks must not leak how many leading characters matched.</summary>
    private static bool FixedEquals(string? presented, string? expected)
    {
        if (presented is null || string.IsNullOrEmpty(expected)) return false;
        return CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
    }
}
