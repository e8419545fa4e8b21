using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Mail;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Store;
using Crm.Functions.Core.Triggers;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Core.Users;

/// <summary>
/// Password reset and email verification by mailed links. Each link carries a random single-use token; only its
/// SHA-256 is stored (a leaked database or backup holds no working link), with an expiry. A token is spent inside
/// the store's atomic update, so two requests racing with the same link cannot both succeed. Links are built from
/// Parse:PublicServerUrl only, never from the request's Host header: otherwise anybody could ask for a reset of a
/// victim's account with a forged Host and receive the victim's token through a link to their own server.
/// </summary>
internal sealed class AccountEmails(
    DataService data,
    IMailSender mail,
    MailTemplates templates,
    MailOutbox outbox,
    MailRateLimiter limiter,
    UserRules rules,
    IOptions<ParseSettings> options,
    TimeProvider time)
{
    private const string ResetHash = "_reset_token_hash";
    private const string ResetExpires = "_reset_token_expires_at";
    private const string VerifyHash = "_email_verify_token_hash";
    private const string VerifyExpires = "_email_verify_token_expires_at";
    private const string VerifyFor = "_email_verify_token_for";

    private ParseSettings Settings => options.Value;
    private AccountSettings Accounts => options.Value.Accounts;

    /// <summary>The public URL links point to; mail is off without it, as without an SMTP host.</summary>
    private string PublicUrl => Settings.PublicServerUrl?.TrimEnd('/') ?? throw SmtpMailSender.NotConfigured();

    public bool Enabled => mail.Enabled && !string.IsNullOrWhiteSpace(Settings.PublicServerUrl);

    public void Register(TriggerRegistry triggers)
    {
        triggers.BeforeSave("_User", MarkEmailUnverified);
        triggers.AfterSave("_User", SendVerificationAfterSave);
    }

    // ---- password reset ----

    /// <summary>
    /// POST /requestPasswordReset: always answers the same (no user enumeration, Parse's advisories); the token and the
    /// mail are made after the answer.
    /// </summary>
    public async Task RequestPasswordResetAsync(Auth caller, JsonNode? emailNode, CancellationToken ct)
    {
        var email = RequireEnabledAndEmail(emailNode);
        limiter.Check(caller, email);
        var user = await FindByEmailAsync(email, ct);
        var userId = user?.ObjectId;
        outbox.Enqueue(async token =>
        {
            if (userId is not null) await SendPasswordResetAsync(userId, token);
        });
    }

    private async Task SendPasswordResetAsync(string userId, CancellationToken ct)
    {
        var token = NewToken();
        var expires = time.GetUtcNow().AddMinutes(Accounts.PasswordResetTokenMinutes);
        var user = await data.Store.UpdateAsync("_User", userId, QueryNode.True, current =>
        {
            current.Data[ResetHash] = Hash(token);
            current.Data[ResetExpires] = expires.ToUnixTimeMilliseconds();
            return ValueTask.FromResult<ObjectWrite?>(new ObjectWrite(current, []));
        }, ct);
        if (user?.Data["email"]?.ToString() is not { } email) return;
        var link = $"{PublicUrl}/apps/{Uri.EscapeDataString(Settings.AppId)}/request_password_reset?token={token}";
        await SendAsync(MailTemplates.PasswordReset, email, user, link, Accounts.PasswordResetTokenMinutes, ct);
    }

    /// <summary>The user a reset token belongs to, or null when it is unknown, spent or expired.</summary>
    public async Task<StoredObject?> PasswordResetUserAsync(string? token, CancellationToken ct) =>
        await FindByTokenAsync(ResetHash, ResetExpires, token, ct);

    /// <summary>
    /// Sets a new password with a reset token. The password policy is checked first, so a refused password leaves
    /// the link usable; the token is then spent atomically, and only the request that spent it sets the password.
    /// The password change revokes every session of the user (UserRules), and ends any lockout.
    /// </summary>
    public async Task ResetPasswordAsync(string? token, string? password, CancellationToken ct)
    {
        var user = await PasswordResetUserAsync(token, ct) ?? throw InvalidLink();
        if (string.IsNullOrEmpty(password)) throw new ParseException(ParseError.PasswordMissing, "password is required");
        rules.ValidatePassword(password, user.Data["username"]?.ToString());
        var hash = Hash(token!);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var spent = await data.Store.UpdateAsync("_User", user.ObjectId, QueryNode.True, current =>
        {
            if (current.Data[ResetHash]?.ToString() != hash || !(current.Data[ResetExpires] is JsonValue e && e.TryGetValue(out long until) && until > now))
                return ValueTask.FromResult<ObjectWrite?>(null);
            current.Data.Remove(ResetHash);
            current.Data.Remove(ResetExpires);
            current.Data.Remove("_failed_login_count");
            current.Data.Remove("_account_lockout_expires_at");
            return ValueTask.FromResult<ObjectWrite?>(new ObjectWrite(current, []));
        }, ct);
        if (spent is null) throw InvalidLink();
        await data.UpdateAsync(Auth.Master, "_User", user.ObjectId, new JsonObject { ["password"] = password }, ct);
    }

    private static ParseException InvalidLink() => new(ParseError.OtherCause, "This link is invalid or has expired. Please request a new one.");

    // ---- email verification ----

    /// <summary>POST /verificationEmailRequest: the same answer for unknown, verified and unverified addresses.</summary>
    public async Task RequestVerificationEmailAsync(Auth caller, JsonNode? emailNode, CancellationToken ct)
    {
        var email = RequireEnabledAndEmail(emailNode);
        limiter.Check(caller, email);
        var user = await FindByEmailAsync(email, ct);
        var userId = Accounts.VerifyUserEmails && user is not null && !IsVerified(user.Data) ? user.ObjectId : null;
        outbox.Enqueue(async token =>
        {
            if (userId is not null) await SendVerificationAsync(userId, token);
        });
    }

    private async Task SendVerificationAsync(string userId, CancellationToken ct)
    {
        var token = NewToken();
        var expires = time.GetUtcNow().AddMinutes(Accounts.EmailVerificationTokenMinutes);
        var user = await data.Store.UpdateAsync("_User", userId, QueryNode.True, current =>
        {
            if (current.Data["email"]?.ToString() is not { } email || IsVerified(current.Data)) return ValueTask.FromResult<ObjectWrite?>(null);
            current.Data[VerifyHash] = Hash(token);
            current.Data[VerifyExpires] = expires.ToUnixTimeMilliseconds();
            // The link verifies this address only: after a change of address, an older link verifies nothing.
            current.Data[VerifyFor] = email;
            return ValueTask.FromResult<ObjectWrite?>(new ObjectWrite(current, []));
        }, ct);
        if (user?.Data["email"]?.ToString() is not { } address) return;
        var link = $"{PublicUrl}/apps/{Uri.EscapeDataString(Settings.AppId)}/verify_email?token={token}";
        await SendAsync(MailTemplates.VerifyEmail, address, user, link, Accounts.EmailVerificationTokenMinutes, ct);
    }

    /// <summary>Marks the address verified when the token is live and still belongs to the user's current address.</summary>
    public async Task<bool> VerifyEmailAsync(string? token, CancellationToken ct)
    {
        var user = await FindByTokenAsync(VerifyHash, VerifyExpires, token, ct);
        if (user is null) return false;
        var hash = Hash(token!);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var spent = await data.Store.UpdateAsync("_User", user.ObjectId, QueryNode.True, current =>
        {
            var live = current.Data[VerifyHash]?.ToString() == hash
                       && current.Data[VerifyExpires] is JsonValue e && e.TryGetValue(out long until) && until > now
                       && current.Data[VerifyFor]?.ToString() == current.Data["email"]?.ToString();
            if (!live) return ValueTask.FromResult<ObjectWrite?>(null);
            current.Data.Remove(VerifyHash);
            current.Data.Remove(VerifyExpires);
            current.Data.Remove(VerifyFor);
            return ValueTask.FromResult<ObjectWrite?>(new ObjectWrite(current, []));
        }, ct);
        if (spent is null) return false;
        // Through the core (master: clients may never write emailVerified), so hooks and real-time subscribers see it.
        await data.UpdateAsync(Auth.Master, "_User", user.ObjectId, new JsonObject { ["emailVerified"] = true }, ct);
        return true;
    }

    public static bool IsVerified(JsonObject user) => user["emailVerified"] is JsonValue v && v.TryGetValue(out bool b) && b;

    /// <summary>With VerifyUserEmails, a new address (sign-up or change) is unverified until its link is followed.</summary>
    private ValueTask MarkEmailUnverified(SaveEvent e, CancellationToken ct)
    {
        if (!Accounts.VerifyUserEmails || !(e.IsCreate || e.ChangedFields.Contains("email"))) return ValueTask.CompletedTask;
        var email = e.Object.Data["email"]?.ToString();
        var before = e.Original?.Data["email"]?.ToString();
        // The master key may create a user already verified (an import); anything else starts unverified.
        if (e.Auth.IsMaster && e.ChangedFields.Contains("emailVerified")) return ValueTask.CompletedTask;
        if (email is null) e.Object.Data.Remove("emailVerified");
        else if (e.IsCreate || email != before) e.Object.Data["emailVerified"] = false;
        return ValueTask.CompletedTask;
    }

    private ValueTask SendVerificationAfterSave(SaveEvent e, CancellationToken ct)
    {
        if (!Accounts.VerifyUserEmails || !Enabled || !(e.IsCreate || e.ChangedFields.Contains("email"))) return ValueTask.CompletedTask;
        if (e.Object.Data["email"] is null || IsVerified(e.Object.Data)) return ValueTask.CompletedTask;
        var userId = e.Object.ObjectId;
        outbox.Enqueue(token => SendVerificationAsync(userId, token));
        return ValueTask.CompletedTask;
    }

    // ---- shared ----

    private string RequireEnabledAndEmail(JsonNode? emailNode)
    {
        if (!Enabled) throw SmtpMailSender.NotConfigured();
        if (emailNode is null) throw new ParseException(ParseError.EmailMissing, "you must provide an email");
        if (emailNode is not JsonValue v || !v.TryGetValue(out string? email) || email.Length is 0 or > 256)
            throw new ParseException(ParseError.InvalidEmailAddress, "you must provide a valid email string");
        return email;
    }

    private async Task<StoredObject?> FindByEmailAsync(string email, CancellationToken ct)
    {
        var found = await data.Store.FindAsync(new StoreQuery("_User", Equal("email", email), [], 0, 1), ct);
        return found.Count > 0 ? found[0] : null;
    }

    private async Task<StoredObject?> FindByTokenAsync(string hashField, string expiresField, string? token, CancellationToken ct)
    {
        // Tokens are 43 base64url characters; anything else is refused before touching the store.
        if (token is not { Length: 43 } || !Base64Url.IsValid(token)) return null;
        var found = await data.Store.FindAsync(new StoreQuery("_User", Equal(hashField, Hash(token)), [], 0, 1), ct);
        if (found.Count == 0) return null;
        var user = found[0];
        return user.Data[expiresField] is JsonValue e && e.TryGetValue(out long until) && until > time.GetUtcNow().ToUnixTimeMilliseconds() ? user : null;
    }

    private async Task SendAsync(string template, string to, StoredObject user, string link, int validMinutes, CancellationToken ct)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["appName"] = Settings.Email.AppName,
            ["username"] = user.Data["username"]?.ToString() ?? "",
            ["email"] = to,
            ["link"] = link,
            ["validFor"] = validMinutes % 60 == 0 ? $"{validMinutes / 60} hour{(validMinutes == 60 ? "" : "s")}" : $"{validMinutes} minutes",
        };
        await mail.SendAsync(templates.Render(template, to, values), ct);
    }

    private static QueryNode Equal(string field, string value) =>
        new CompareNode(FieldRef.Of(field, new FieldDefinition(FieldType.String)), CompareOp.Eq, new StringValue(value));

    private static string NewToken() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    private static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
