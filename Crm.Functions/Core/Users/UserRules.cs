using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Crm.Functions.Core.Requests;
using Crm.Functions.Core.Triggers;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Core.Users;

/// <summary>
/// The built-in rules of _User, _Role and _Session, registered as ordinary hooks so they run on every door
/// (REST, batch, GraphQL). Passwords become bcrypt hashes in an internal field before anything is stored.
/// </summary>
internal sealed partial class UserRules(SessionService sessions, RoleService roles, AuthRateLimiter limiter, TwoFactor twoFactor, IOptions<ParseSettings> options)
{
    private AccountSettings Accounts => options.Value.Accounts;

    [GeneratedRegex("^.+@.+$")]
    private static partial Regex EmailPattern();

    public void Register(TriggerRegistry triggers)
    {
        triggers.BeforeSave("_User", BeforeSaveUser);
        triggers.AfterSave("_User", AfterSaveUser);
        triggers.AfterDelete("_User", async (e, ct) => await sessions.RevokeAllAsync(e.Object.ObjectId, ct));
        triggers.BeforeSave("_Role", BeforeSaveRole);
        triggers.AfterSave("_Role", (_, _) => { roles.Invalidate(); return ValueTask.CompletedTask; });
        triggers.AfterDelete("_Role", (_, _) => { roles.Invalidate(); return ValueTask.CompletedTask; });
        triggers.BeforeSave("_Session", BeforeSaveSession);
        triggers.AfterDelete("_Session", (e, _) =>
        {
            sessions.Deleted(e.Object);
            return ValueTask.CompletedTask;
        });
    }

    private async ValueTask BeforeSaveUser(SaveEvent e, CancellationToken ct)
    {
        // Every sign-up is charged here, whichever door it came through (REST, batch, GraphQL signUp, a user created
        // inside another GraphQL write), before any bcrypt work.
        if (e.IsCreate) limiter.Check(e.Auth);
        var data = e.Object.Data;
        if (e.ChangedFields.Contains("emailVerified") && !e.Auth.IsMaster)
            throw new ParseException(ParseError.OperationForbidden, "Clients aren't allowed to manually update email verification.");
        if (e.IsCreate || e.ChangedFields.Contains("username"))
        {
            if (data["username"] is not JsonValue u || !u.TryGetValue(out string? username) || username.Length == 0 || username.Length > 128)
                throw new ParseException(ParseError.UsernameMissing, "bad or missing username");
        }
        if (e.IsCreate || e.ChangedFields.Contains("email"))
        {
            if (data["email"] is { } emailNode)
            {
                if (emailNode is not JsonValue ev || !ev.TryGetValue(out string? email) || !EmailPattern().IsMatch(email) || email.Length > 256)
                    throw new ParseException(ParseError.InvalidEmailAddress, "Email address format is invalid.");
            }
        }
        // Accounts created from an identity provider (authData, by the server) have no password.
        if (e.IsCreate && data["password"] is null && !(e.Auth.IsMaster && data["authData"] is JsonObject))
            throw new ParseException(ParseError.PasswordMissing, "password is required");
        if (data["password"] is { } passwordNode)
        {
            if (passwordNode is not JsonValue pv || !pv.TryGetValue(out string? password))
                throw new ParseException(ParseError.PasswordMissing, "password is required");
            ValidatePassword(password, data["username"]?.ToString());
            using (await RequestBudget.PasswordHashAsync(ct))
                data["_hashed_password"] = Passwords.Hash(password, Accounts.BcryptCost);
            data["_password_changed_at"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            data.Remove("password");
        }
        var authDataChanged = e.ChangedFields.Contains("authData");
        if (authDataChanged && !e.IsCreate && data["authData"] is JsonObject sent && sent.ContainsKey(TwoFactor.Provider))
            authDataChanged = await ChangeTwoFactorAsync(e, sent, ct);
        if (authDataChanged && !e.Auth.IsMaster)
            throw new ParseException(ParseError.OperationForbidden, "authData is managed by the server.");

        // A user can always read and write itself, whatever ACL it sends.
        var self = e.Object.ObjectId;
        if (e.Object.Acl is null && e.IsCreate)
            e.Object.Acl = new JsonObject { [self] = new JsonObject { ["read"] = true, ["write"] = true } };
        else if (e.Object.Acl is not null && e.ChangedFields.Contains("ACL"))
            e.Object.Acl[self] = new JsonObject { ["read"] = true, ["write"] = true };
    }

    /// <summary>
    /// Applies <c>authData.mfa</c> of an update (see <see cref="TwoFactor"/>) and takes it out of the stored authData,
    /// which keeps the other providers as they were. Returns whether the request changes any other provider.
    /// </summary>
    private async Task<bool> ChangeTwoFactorAsync(SaveEvent e, JsonObject sent, CancellationToken ct)
    {
        var data = e.Object.Data;
        var request = sent[TwoFactor.Provider];
        sent.Remove(TwoFactor.Provider);
        var othersChanged = sent.Count > 0;
        if (!othersChanged)
        {
            if (e.Original!.Data["authData"] is JsonObject kept) data["authData"] = kept.DeepClone();
            else data.Remove("authData");
        }
        if (e.Auth.UserId != e.Object.ObjectId && !e.Auth.IsMaster)
            throw new ParseException(ParseError.OperationForbidden, "Only the user itself can change its two-factor sign-in.");

        var enrolled = TwoFactor.IsEnrolled(data);
        JsonObject answer = [];
        if (request is null)
        {
            // parse-server unlinks with {mfa: null} on the session alone; here that is the master key's way (a lost device).
            if (!e.Auth.IsMaster)
                throw new ParseException(ParseError.ScriptFailed, "Turning off two-factor sign-in needs a current code: send authData.mfa {old: code}.");
            TwoFactor.Disable(data);
        }
        else if (request is not JsonObject mfa) throw TwoFactor.InvalidData();
        else
        {
            // An enrolled user proves the current factor before changing or removing it (the master key need not).
            if (enrolled && !e.Auth.IsMaster && !twoFactor.TryUse(data, mfa["old"] is JsonValue old && old.TryGetValue(out string? code) ? code : null))
                throw TwoFactor.InvalidToken();
            if (mfa["secret"] is not null) answer[TwoFactor.Provider] = twoFactor.Enrol(data, mfa);
            else if (enrolled && mfa.ContainsKey("old"))
            {
                if (await twoFactor.RequiredRoleAsync(e.Object.ObjectId, ct) is { } role)
                    throw new ParseException(ParseError.OperationForbidden, $"Two-factor sign-in is required for members of the role {role}; it cannot be turned off.");
                TwoFactor.Disable(data);
            }
            else throw TwoFactor.InvalidData();
        }
        e.Response["authDataResponse"] = answer;
        return othersChanged;
    }

    public void ValidatePassword(string password, string? username)
    {
        if (password.Length == 0) throw new ParseException(ParseError.PasswordMissing, "password is required");
        if (password.Length < Accounts.MinPasswordLength)
            throw new ParseException(ParseError.ValidationError, $"Password must be at least {Accounts.MinPasswordLength} characters long.");
        if (password.Length > 256)
            throw new ParseException(ParseError.ValidationError, "Password must be at most 256 characters long.");
    }

    private async ValueTask AfterSaveUser(SaveEvent e, CancellationToken ct)
    {
        if (e.IsCreate && e.Object.Data["_hashed_password"] is not null)
        {
            // Parse's preventLoginWithUnverifiedEmail: no session until the address is verified (log-in answers 205).
            if (MustVerifyBeforeLogIn(e.Object.Data)) return;
            var session = await sessions.CreateAsync(e.Object.ObjectId, e.Auth.InstallationId, "signup", "password", ct);
            e.Response["sessionToken"] = session.Token;
            return;
        }
        if (e.ChangedFields.Contains("password"))
        {
            // A password change revokes every session (stolen tokens die with the old password), also when an
            // administrator resets it with the master key: that reset is how a compromised account is recovered.
            await sessions.RevokeAllAsync(e.Object.ObjectId, ct);
            // The user itself gets a new session; the master key does not (the user logs in with the new password).
            if (e.Auth.IsMaster) return;
            var session = await sessions.CreateAsync(e.Object.ObjectId, e.Auth.InstallationId, "login", "password", ct);
            e.Response["sessionToken"] = session.Token;
        }
    }

    /// <summary>Whether log-in is refused to this user until its address is verified (Parse:Accounts:PreventLoginWithUnverifiedEmail).</summary>
    public bool MustVerifyBeforeLogIn(JsonObject user) =>
        Accounts is { VerifyUserEmails: true, PreventLoginWithUnverifiedEmail: true }
        && user["email"] is not null && !(user["emailVerified"] is JsonValue v && v.TryGetValue(out bool verified) && verified);

    private static ValueTask BeforeSaveRole(SaveEvent e, CancellationToken ct)
    {
        if (e.IsCreate || e.ChangedFields.Contains("name"))
        {
            if (!e.IsCreate && e.Original?.Data["name"]?.ToString() != e.Object.Data["name"]?.ToString())
                throw new ParseException(ParseError.InvalidRoleName, "A role's name can only be set before it has been saved.");
            if (e.Object.Data["name"] is not JsonValue n || !n.TryGetValue(out string? name) || string.IsNullOrEmpty(name))
                throw new ParseException(ParseError.IncorrectType, "name is required.");
            if (!RoleNamePattern().IsMatch(name))
                throw new ParseException(ParseError.InvalidRoleName, "A role's name can be only contain alphanumeric characters, _, -, and spaces.");
        }
        if (e.IsCreate && e.Object.Acl is null) throw new ParseException(ParseError.IncorrectType, "ACL is required.");
        return ValueTask.CompletedTask;
    }

    [GeneratedRegex("^[0-9A-Za-z_\\- ]{1,128}$")]
    private static partial Regex RoleNamePattern();

    private ValueTask BeforeSaveSession(SaveEvent e, CancellationToken ct)
    {
        if (e.Auth.IsMaster) return ValueTask.CompletedTask;
        if (e.ChangedFields.Contains("ACL")) throw new ParseException(ParseError.InvalidKeyName, "Cannot set ACL on a Session.");
        if (e.IsCreate)
        {
            // A client-created session is always the caller's own, with a server-chosen token. Taking "user" or
            // "sessionToken" from the body would let any user mint a session for another user (account takeover)
            // or plant a token it already knows.
            var userId = e.Auth.UserId ?? throw new ParseException(ParseError.InvalidSessionToken, "Session token required.");
            sessions.StampNewSession(e.Object.Data, userId, e.Auth.InstallationId, "create", "password");
            e.Object.Acl = SessionService.OwnerAcl(userId);
            foreach (var field in new[] { "sessionToken", "user", "createdWith", "expiresAt", "installationId" })
                if (e.Object.Data[field] is { } value) e.Response[field] = value.DeepClone();
            return ValueTask.CompletedTask;
        }
        foreach (var field in new[] { "user", "installationId", "sessionToken", "expiresAt", "createdWith" })
            if (e.ChangedFields.Contains(field) && !e.IsCreate)
                throw new ParseException(ParseError.InvalidKeyName, $"Cannot modify field {field} of a Session.");
        return ValueTask.CompletedTask;
    }
}
