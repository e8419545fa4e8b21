using Crm.Functions.Core;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Crm.Functions.Realtime;

/// <summary>
/// Access tokens for the app's own hub: short-lived JWTs naming the user, signed with a key derived from
/// the master key, so every instance of the app accepts the tokens of the others without a new secret,
/// and nobody without the master key can mint one (a forged token would let anyone listen as any user).
/// </summary>
internal sealed class HubTokens(IOptions<ParseSettings> parse, TimeProvider time)
{
    private const string Issuer = "crm-realtime";
    private const string Audience = "crm-realtime-hub";
    private readonly SymmetricSecurityKey _key = new(HMACSHA256.HashData(
        Encoding.UTF8.GetBytes(parse.Value.MasterKey ?? ""), "crm realtime hub tokens v1"u8));

    public string Issue(string userId, TimeSpan lifetime)
    {
        var now = time.GetUtcNow().UtcDateTime;
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + lifetime,
            Claims = new Dictionary<string, object> { ["nameid"] = userId },
            SigningCredentials = new SigningCredentials(_key, SecurityAlgorithms.HmacSha256),
        });
    }

    /// <summary>The user id of a valid token; null for a forged, expired, or malformed one.</summary>
    public async Task<string?> ValidateAsync(string? token)
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
        return result.IsValid && result.Claims.TryGetValue("nameid", out var id) && id is string userId && userId.Length > 0 ? userId : null;
    }
}
