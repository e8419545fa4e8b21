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

/// <summary>Credentials a JS SDK request carries inside its body instead of headers (<c>_ApplicationId</c>, …).</summary>
internal sealed record BodyCredentials(string? AppId, string? MasterKey, string? SessionToken, string? InstallationId, string? ClientKey)
{
    public static readonly BodyCredentials None = new(null, null, null, null, null);
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
}

/// <summary>
/// Turns request headers into the caller, for every door (Parse REST, GraphQL): the application id (403),
/// client keys, the master key (constant-time compare, IP-restricted), the session token (209) and Entra ID
/// bearer tokens. One copy, so no door can be laxer than another.
/// </summary>
internal sealed class RequestAuthenticator(
    UserService users,
    EntraUsers entraUsers,
    IOptions<ParseSettings> options,
    ILogger<RequestAuthenticator> log)
{
    private readonly ParseSettings _settings = options.Value;
    private readonly IReadOnlyList<IPNetwork> _masterKeyNetworks = options.Value.EffectiveMasterKeyIps.Select(IPNetwork.Parse).ToList();

    /// <summary>Throws <see cref="UnauthorizedException"/> (bare 403) or <see cref="ParseException"/> 209.</summary>
    public async Task<Auth> AuthenticateAsync(HttpContext context, BodyCredentials envelope, SessionTokenUse tokenUse, CancellationToken ct) =>
        (await CallerAsync(context, envelope, tokenUse, ct)).At(context.Connection.RemoteIpAddress?.ToString());

    private async Task<Auth> CallerAsync(HttpContext context, BodyCredentials envelope, SessionTokenUse tokenUse, CancellationToken ct)
    {
        var headers = context.Request.Headers;
        string? Header(string name) => headers.TryGetValue(name, out var v) && v.Count > 0 ? v[0] : null;

        var (basicAppId, basicMaster) = BasicCredentials(Header("Authorization"));
        var appId = Header("X-Parse-Application-Id") ?? envelope.AppId ?? basicAppId;
        if (!FixedEquals(appId, _settings.AppId)) throw new UnauthorizedException();

        var installationId = Header("X-Parse-Installation-Id") ?? envelope.InstallationId;
        var masterKey = Header("X-Parse-Master-Key") ?? envelope.MasterKey ?? basicMaster;
        if (masterKey is not null && FixedEquals(masterKey, _settings.MasterKey))
        {
            var ip = context.Connection.RemoteIpAddress;
            if (ip is null || !_masterKeyNetworks.Any(n => n.Contains(ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip)))
                throw new UnauthorizedException();
            return new Auth { IsMaster = true, InstallationId = installationId };
        }
        CheckClientKey(Header("X-Parse-Client-Key") ?? Header("X-Parse-REST-API-Key") ?? Header("X-Parse-Javascript-Key")
                       ?? Header("X-Parse-Windows-Key") ?? envelope.ClientKey);

        var token = Header("X-Parse-Session-Token") ?? envelope.SessionToken;
        var bearerAllowed = tokenUse is SessionTokenUse.Resolve or SessionTokenUse.Ignore;
        if (string.IsNullOrEmpty(token) && bearerAllowed && Header("Authorization") is { } authorization
            && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return await EntraAuthAsync(context, installationId, ct);
        if (string.IsNullOrEmpty(token) || tokenUse != SessionTokenUse.Resolve)
            return new Auth { InstallationId = installationId, SessionToken = tokenUse == SessionTokenUse.PassThrough ? token : null };
        return await SessionAsync(token, installationId, ct);
    }

    /// <summary>The caller behind a session token; 209 when unknown or expired. Also used by the real-time negotiate endpoint.</summary>
    public async Task<Auth> SessionAsync(string token, string? installationId, CancellationToken ct)
    {
        if (token.Length > 128) throw new ParseException(ParseError.InvalidSessionToken, "Invalid session token");
        return await users.AuthFromSessionAsync(token, installationId, ct)
               ?? throw new ParseException(ParseError.InvalidSessionToken, "Invalid session token");
    }

    /// <summary>
    /// An Entra ID bearer token, validated by Microsoft.Identity.Web's JwtBearer handler (issuer, audience,
    /// signature, lifetime); the caller then becomes the linked _User, exactly like a session user.
    /// </summary>
    public async Task<Auth> EntraAuthAsync(HttpContext context, string? installationId, CancellationToken ct)
    {
        // Bearer tokens are accepted only when Entra ID is configured (the AzureAd section names a client id).
        var schemes = context.RequestServices.GetService<IAuthenticationSchemeProvider>();
        if (schemes is null || await schemes.GetSchemeAsync(JwtBearerDefaults.AuthenticationScheme) is null)
            throw new ParseException(ParseError.InvalidSessionToken, "Bearer tokens are not accepted: Entra ID is not configured.");
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
        var configured = new[] { _settings.ClientKey, _settings.JavaScriptKey, _settings.RestApiKey, _settings.DotNetKey }
            .Where(k => !string.IsNullOrEmpty(k)).ToList();
        if (configured.Count == 0) return;
        if (presented is null || !configured.Any(k => FixedEquals(presented, k))) throw new UnauthorizedException();
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
