using Crm.Functions.Core;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Crm.Functions.Realtime;

/// <summary>Who a valid hub token names: the user, the session it was issued for (its object id), or the latest end of an Entra caller's connection.</summary>
internal sealed record HubIdentity(string UserId, string? SessionId, DateTimeOffset? Until);

/// <summary>
/// Access tokens for the app's own hub: short-lived JWTs naming the user and the session they were issued for
/// (its object id, never its token: <see cref="RealtimeSessions"/> checks it on connect), signed with a key derived from
/// the master key, so every instance of the app accepts the tokens of the others without a new secret,
/// and nobody without the master key can mint one (a forged token would let anyone listen as any user).
/// </summary>
internal sealed class HubTokens(IOptions<ParseSettings> parse, TimeProvider time)
{
    private const string Issuer = "crm-realtime";
    private const string Audience = "crm-realtime-hub";
    private readonly SymmetricSecurityKey _key = new(HMACSHA256.HashData(
        Encoding.UTF8.GetBytes(parse.Value.MasterKey ?? ""), "crm realtime hub tokens v1"u8));

    public string Issue(string userId, TimeSpan lifetime, string? sessionId = null, DateTimeOffset? until = null)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var claims = new Dictionary<string, object> { ["nameid"] = userId };
        if (sessionId is not null) claims["sid"] = sessionId;
        if (until is { } end) claims["until"] = end.ToUnixTimeSeconds();
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + lifetime,
            Claims = claims,
            SigningCredentials = new SigningCredentials(_key, SecurityAlgorithms.HmacSha256),
        });
    }

    /// <summary>Who a valid token names; null for a forged, expired, or malformed one.</summary>
    public async Task<HubIdentity?> ValidateAsync(string? token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 4096) return null;
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = Issuer,
            ValidAudience = Audience,
            IssuerSigningKey = _key,
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            ClockSkew = TimeSpan.FromSeconds(30),
            LifetimeValidator = (notBefore, expires, _, p) =>
                expires is { } e && e.ToUniversalTime() > time.GetUtcNow().UtcDateTime - p.ClockSkew,
        });
        if (!result.IsValid || !result.Claims.TryGetValue("nameid", out var id) || id is not string userId || userId.Length == 0) return null;
        var sessionId = result.Claims.TryGetValue("sid", out var sid) ? sid as string : null;
        // The handler hands numeric claims back as int or long depending on their size.
        DateTimeOffset? until = result.Claims.TryGetValue("until", out var u) && u is IConvertible seconds
            ? DateTimeOffset.FromUnixTimeSeconds(seconds.ToInt64(System.Globalization.CultureInfo.InvariantCulture)) : null;
        return new HubIdentity(userId, sessionId, until);
    }
}
