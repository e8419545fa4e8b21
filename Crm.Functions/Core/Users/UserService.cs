using System.Text.Json.Nodes;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Requests;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Store;
using Microsoft.Extensions.Options;
using Crm.Functions.Core.Telemetry;

namespace Crm.Functions.Core.Users;

/// <summary>Log-in, log-out and "who am I". Sign-up is a create of _User through the core (see UserRules).</summary>
internal sealed class UserService(DataService data, SessionService sessions, RoleService roles, UserRules rules, TwoFactor twoFactor, IOptions<ParseSettings> options, TimeProvider time)
{
    private const string InvalidCredentials = "Invalid username/password.";
    private AccountSettings Accounts => options.Value.Accounts;

    /// <summary>Builds the caller for a session token; null when the token is unknown or expired.</summary>
    public async Task<Auth?> AuthFromSessionAsync(string token, string? installationId, CancellationToken ct)
    {
        var session = await sessions.ResolveAsync(token, ct);
        if (session is null) return null;
        return await AuthForUserAsync(session.UserId, token, installationId, ct);
    }

    public async Task<Auth> AuthForUserAsync(string userId, string? token, string? installationId, CancellationToken ct) => new()
    {
        UserId = userId,
        SessionToken = token,
        InstallationId = installationId,
        Roles = await roles.RolesOfAsync(userId, ct),
    };

    /// <param name="authData">Additional auth data of the log-in; only <c>mfa</c> is read (see <see cref="TwoFactor"/>).</param>
    public async Task<JsonObject> LogInAsync(string? username, string? email, string? password, string? installationId, bool createSession, CancellationToken ct,
        JsonObject? authData = null)
    {
        if (string.IsNullOrEmpty(username) && string.IsNullOrEmpty(email))
            throw new ParseException(ParseError.UsernameMissing, "username/email is required.");
        if (string.IsNullOrEmpty(password)) throw new ParseException(ParseError.PasswordMissing, "password is required.");
        if (username?.Length > 256 || email?.Length > 256 || password.Length > 256)
            throw new ParseException(ParseError.ObjectNotFound, InvalidCredentials);

        var user = await FindUserAsync(username, email, ct);
        var hash = user?.Data["_hashed_password"]?.ToString();
        bool passwordOk;
        using (await RequestBudget.PasswordHashAsync(ct))
            // An unknown user is checked against a hash at the configured cost, so the answer takes as long as a known one's.
            passwordOk = Passwords.Verify(password, hash ?? Passwords.DummyHash(Accounts.BcryptCost));
        if (user is null || hash is null)
        {
            CrmTelemetry.RecordLogInFailure("credentials");
            throw new ParseException(ParseError.ObjectNotFound, InvalidCredentials);
        }

        var now = time.GetUtcNow();
        if (user.Data["_account_lockout_expires_at"] is JsonValue lv && lv.TryGetValue(out long lockedUntil) && lockedUntil > now.ToUnixTimeMilliseconds())
        {
            CrmTelemetry.RecordLogInFailure("locked");
            throw Locked();
        }
        if (!passwordOk)
        {
            CrmTelemetry.RecordLogInFailure("credentials");
            await RecordFailureAsync(user.ObjectId, ct);
            throw new ParseException(ParseError.ObjectNotFound, InvalidCredentials);
        }
        // An empty ACL locks the user out (Parse's convention for disabled accounts).
        if (user.Acl is { Count: 0 }) throw new ParseException(ParseError.ObjectNotFound, InvalidCredentials);
        // After the password check, so the answer says nothing about unverified accounts to whoever lacks the password.
        if (rules.MustVerifyBeforeLogIn(user.Data)) throw new ParseException(ParseError.EmailNotFound, "User email is not verified.");

        // Only a log-in that opens a session needs the second factor; /verifyPassword proves the password alone.
        var authDataResponse = createSession ? await CheckSecondFactorAsync(user, authData, ct) : null;
        // Only now: a right password with a wrong code must not clear the failures the wrong codes count up.
        if (user.Data.ContainsKey("_failed_login_count")) await ResetFailuresAsync(user.ObjectId, ct);

        string? token = null;
        if (createSession) token = (await sessions.CreateAsync(user.ObjectId, installationId, "login", "password", ct)).Token;
        var me = await MeAsync(user.ObjectId, token, ct);
        if (authDataResponse is not null) me["authDataResponse"] = authDataResponse;
        return me;
    }

    /// <summary>
    /// The second factor of a log-in, after the password: an enrolled user must send a current code or a recovery code
    /// (spent atomically, so concurrent log-ins with one code succeed at most once). A member of a role in
    /// <c>Parse:Accounts:MfaRequiredRoles</c> who has not enrolled can only log in by enrolling in the same request.
    /// Returns the <c>authDataResponse</c> of the answer (the recovery codes of such an enrolment), or null.
    /// </summary>
    private async Task<JsonObject?> CheckSecondFactorAsync(StoredObject user, JsonObject? authData, CancellationToken ct)
    {
        var request = authData?[TwoFactor.Provider];
        if (authData is not null && request is not (null or JsonObject)) throw TwoFactor.InvalidData();
        var mfa = request as JsonObject;
        if (TwoFactor.IsEnrolled(user.Data))
        {
            if (mfa is null) throw TwoFactor.MissingToken();
            var code = mfa["token"] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
            var accepted = false;
            await data.Store.UpdateAsync("_User", user.ObjectId, QueryNode.True, current =>
            {
                accepted = twoFactor.TryUse(current.Data, code);
                return ValueTask.FromResult<ObjectWrite?>(accepted ? new ObjectWrite(current, []) : null);
            }, ct);
            if (accepted) return authData is null ? null : [];
            CrmTelemetry.RecordLogInFailure("mfa");
            // A wrong code counts towards the lockout like a wrong password: six digits must not be guessable at leisure.
            await RecordFailureAsync(user.ObjectId, ct);
            throw TwoFactor.InvalidToken();
        }
        if (mfa is not null)
        {
            JsonObject? enrolled = null;
            await data.Store.UpdateAsync("_User", user.ObjectId, QueryNode.True, current =>
            {
                // A concurrent enrolment won: this one must not replace its secret unchecked.
                if (TwoFactor.IsEnrolled(current.Data)) throw TwoFactor.InvalidToken();
                enrolled = twoFactor.Enrol(current.Data, mfa);
                return ValueTask.FromResult<ObjectWrite?>(new ObjectWrite(current, []));
            }, ct);
            return new JsonObject { [TwoFactor.Provider] = enrolled };
        }
        if (await twoFactor.RequiredRoleAsync(user.ObjectId, ct) is { } role)
            throw new ParseException(ParseError.OtherCause,
                $"Two-factor sign-in is required for members of the role {role}: enrol by logging in with authData.mfa {{secret, token}}.");
        return authData is null ? null : [];
    }

    private ParseException Locked() => new(ParseError.ObjectNotFound,
        $"Your account is locked due to multiple failed login attempts. Please try again after {Accounts.LockoutMinutes} minute(s)");

    private async Task<StoredObject?> FindUserAsync(string? username, string? email, CancellationToken ct)
    {
        QueryNode Eq(string field, string value) => new CompareNode(FieldRef.Of(field, new FieldDefinition(FieldType.String)), CompareOp.Eq, new StringValue(value));
        var where = (username, email) switch
        {
            ({ } u, { } e) => QueryNode.And(Eq("username", u), Eq("email", e)),
            (null or "", { } e) => Eq("email", e),
            ({ } u, _) => QueryNode.Or(Eq("username", u), Eq("email", u)),
            _ => QueryNode.False,
        };
        var found = await data.Store.FindAsync(new StoreQuery("_User", where, [], 0, 2), ct);
        // Prefer the username match when a value is both someone's username and someone else's email.
        return found.FirstOrDefault(u => u.Data["username"]?.ToString() == username) ?? (found.Count > 0 ? found[0] : null);
    }

    private async Task RecordFailureAsync(string userId, CancellationToken ct)
    {
        if (Accounts.LockoutThreshold <= 0) return;
        await data.Store.UpdateAsync("_User", userId, QueryNode.True, current =>
        {
            var count = (current.Data["_failed_login_count"] is JsonValue c && c.TryGetValue(out long n) ? n : 0) + 1;
            current.Data["_failed_login_count"] = count;
            if (count >= Accounts.LockoutThreshold)
            {
                current.Data["_account_lockout_expires_at"] = time.GetUtcNow().AddMinutes(Accounts.LockoutMinutes).ToUnixTimeMilliseconds();
                current.Data["_failed_login_count"] = 0;
                CrmTelemetry.RecordLockout();
            }
            return ValueTask.FromResult<ObjectWrite?>(new ObjectWrite(current, []));
        }, ct);
    }

    private Task ResetFailuresAsync(string userId, CancellationToken ct) =>
        data.Store.UpdateAsync("_User", userId, QueryNode.True, current =>
        {
            current.Data.Remove("_failed_login_count");
            current.Data.Remove("_account_lockout_expires_at");
            return ValueTask.FromResult<ObjectWrite?>(new ObjectWrite(current, []));
        }, ct);

    /// <summary>The user as it sees itself (protected fields do not apply), plus the session token.</summary>
    public async Task<JsonObject> MeAsync(string userId, string? token, CancellationToken ct)
    {
        var self = new Auth { UserId = userId, SessionToken = token };
        var schema = data.Schemas.Get("_User")!;
        var found = await data.Store.FindAsync(new StoreQuery("_User",
            new CompareNode(FieldRef.Of("objectId"), CompareOp.Eq, new StringValue(userId)), [], 0, 1), ct);
        if (found.Count == 0) throw new ParseException(ParseError.InvalidSessionToken, "Invalid session token");
        var json = data.Encode(self, schema, found[0], []);
        // As parse-server shows its mfa provider to the user: whether it is on, never the secret.
        if (TwoFactor.IsEnrolled(found[0].Data))
        {
            if (json["authData"] is not JsonObject authData) json["authData"] = authData = [];
            authData[TwoFactor.Provider] = new JsonObject { ["status"] = "enabled" };
        }
        if (token is not null) json["sessionToken"] = token;
        return json;
    }

    public async Task<JsonObject> LogInAsAsync(string? userId, string? installationId, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(userId)) throw new ParseException(ParseError.InvalidValue, "userId must not be empty, null, or undefined");
        if (!ObjectIds.IsValid(userId)) throw new ParseException(ParseError.ObjectNotFound, "user not found");
        var found = await data.Store.FindAsync(new StoreQuery("_User",
            new CompareNode(FieldRef.Of("objectId"), CompareOp.Eq, new StringValue(userId)), [], 0, 1), ct);
        if (found.Count == 0) throw new ParseException(ParseError.ObjectNotFound, "user not found");
        var session = await sessions.CreateAsync(userId, installationId, "login", "masterkey", ct);
        return await MeAsync(userId, session.Token, ct);
    }
}
