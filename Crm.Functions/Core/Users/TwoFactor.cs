using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using OtpNet;

namespace Crm.Functions.Core.Users;

/// <summary>
/// Two-factor sign-in with time-based one-time passwords (RFC 6238: SHA-1, 6 digits, 30 s), in the shape of
/// parse-server's <c>mfa</c> auth provider: a user enrols with <c>authData.mfa {secret, token}</c>, logs in with
/// <c>authData.mfa {token}</c> (a current code or a recovery code), changes the secret with <c>{secret, token, old}</c>.
/// Unlike parse-server, turning it off also needs a current code (<c>{old}</c>): a stolen session token alone must not
/// be enough to remove the second factor. Only the master key may turn it off without one (a lost device).
/// <para>
/// Nothing of it lives in <c>authData</c>: the secret, the hashed recovery codes and the time steps already used are
/// internal fields (underscore names), which no door ever encodes, so no answer, event or export to a client can carry
/// them. The methods that read or change them are called inside the store's atomic read-modify-write of the user,
/// which is what makes a code or a recovery code work at most once under concurrent use.
/// </para>
/// </summary>
internal sealed class TwoFactor(RoleService roles, IOptions<ParseSettings> options, TimeProvider time)
{
    public const string Provider = "mfa";
    private const string SecretField = "_mfa_secret";
    private const string RecoveryField = "_mfa_recovery";
    private const string UsedStepsField = "_mfa_used_steps";
    private const int PeriodSeconds = 30;
    private const int Digits = 6;
    private const int RecoveryCodeCount = 10;
    // Authenticator apps and the server clocks drift: the code of the step before and after the current one is accepted too.
    private static readonly VerificationWindow Window = new(previous: 1, future: 1);
    private const string RecoveryAlphabet = "abcdefghijkmnpqrstuvwxyz23456789";

    public static ParseException InvalidData() => new(ParseError.ScriptFailed, "Invalid MFA data");
    public static ParseException InvalidToken() => new(ParseError.ScriptFailed, "Invalid MFA token");
    public static ParseException MissingToken() => new(ParseError.OtherCause, "Missing additional authData mfa");

    public static bool IsEnrolled(JsonObject user) => user[SecretField] is JsonValue;

    /// <summary>The first of <c>Parse:Accounts:MfaRequiredRoles</c> the user belongs to (directly or through a parent role), or null.</summary>
    public async Task<string?> RequiredRoleAsync(string userId, CancellationToken ct)
    {
        var required = options.Value.Accounts.MfaRequiredRoles.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (required.Length == 0) return null;
        var held = await roles.RolesOfAsync(userId, ct);
        return required.FirstOrDefault(held.Contains);
    }

    /// <summary>
    /// Stores a new secret once the token proves the authenticator has it, with fresh recovery codes; returns the
    /// <c>authDataResponse.mfa</c> value, the only time the codes are shown (as parse-server: <c>{recovery: "a, b, …"}</c>).
    /// </summary>
    public JsonObject Enrol(JsonObject user, JsonObject mfa)
    {
        if (Text(mfa["secret"]) is not { } secret || Text(mfa["token"]) is not { } token || !TryDecode(secret, out var key))
            throw InvalidData();
        if (!TryTotp(key, token, out var step)) throw InvalidToken();
        user[SecretField] = secret.ToUpperInvariant();
        user[UsedStepsField] = new JsonArray(step);
        var codes = Enumerable.Range(0, RecoveryCodeCount).Select(_ => NewRecoveryCode()).ToList();
        user[RecoveryField] = new JsonArray([.. codes.Select(c => (JsonNode)HashRecoveryCode(c))]);
        return new JsonObject { ["recovery"] = string.Join(", ", codes) };
    }

    public static void Disable(JsonObject user)
    {
        user.Remove(SecretField);
        user.Remove(RecoveryField);
        user.Remove(UsedStepsField);
    }

    /// <summary>
    /// Spends a token of an enrolled user: a current code whose time step was not used yet (a code seen on the wire
    /// cannot be replayed within its window), or an unused recovery code, which is removed. False when neither.
    /// </summary>
    public bool TryUse(JsonObject user, string? token)
    {
        if (token is null || token.Length > 64 || Text(user[SecretField]) is not { } secret || !TryDecode(secret, out var key)) return false;
        if (TryTotp(key, token, out var step))
        {
            var used = (user[UsedStepsField] as JsonArray)?.Select(n => n is JsonValue v && v.TryGetValue(out long s) ? s : 0).ToList() ?? [];
            if (used.Contains(step)) return false;
            // Steps older than the window can never match again, so the list stays at most three long.
            user[UsedStepsField] = new JsonArray([.. used.Where(s => s >= step - 2).Append(step).Select(s => (JsonNode)s)]);
            return true;
        }
        if (user[RecoveryField] is not JsonArray hashes) return false;
        var hash = HashRecoveryCode(token);
        var match = hashes.FirstOrDefault(h => Text(h) is { } stored && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(stored), Encoding.ASCII.GetBytes(hash)));
        if (match is null) return false;
        hashes.Remove(match);
        return true;
    }

    private bool TryTotp(byte[] key, string token, out long step)
    {
        step = 0;
        if (token.Length != Digits || !token.All(char.IsAsciiDigit)) return false;
        var totp = new Totp(key, PeriodSeconds, OtpHashMode.Sha1, Digits);
        return totp.VerifyTotp(time.GetUtcNow().UtcDateTime, token, out step, Window);
    }

    /// <summary>Base32 of at least 20 characters (100 bits; parse-server's minimum), as authenticator apps take it.</summary>
    private static bool TryDecode(string secret, out byte[] key)
    {
        key = [];
        var trimmed = secret.TrimEnd('=');
        if (trimmed.Length is < 20 or > 128 || !trimmed.All(c => char.IsAsciiLetter(c) || c is >= '2' and <= '7')) return false;
        key = Base32Encoding.ToBytes(trimmed.ToUpperInvariant());
        return true;
    }

    /// <summary>
    /// Twenty characters of an unambiguous alphabet (100 bits), grouped by five for reading aloud. A code this random
    /// cannot be guessed from its hash, so SHA-256 protects the stored copy as well as bcrypt would, and log-in checks
    /// a code without ten slow hash comparisons (which would make every wrong code a cheap way to burn server CPU).
    /// </summary>
    private static string NewRecoveryCode()
    {
        var raw = RandomNumberGenerator.GetString(RecoveryAlphabet, 20);
        return string.Join('-', Enumerable.Range(0, 4).Select(i => raw.Substring(i * 5, 5)));
    }

    private static string HashRecoveryCode(string code)
    {
        var normalized = new string([.. code.Where(c => c is not ('-' or ' ')).Select(char.ToLowerInvariant)]);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalized)));
    }

    private static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue(out string? s) ? s : null;
}
