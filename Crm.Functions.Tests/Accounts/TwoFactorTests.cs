using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Crm.Functions.Tests.Accounts;

/// <summary>One server whose clock the tests move on by whole TOTP steps, so each log-in can have a fresh code without waiting.</summary>
public sealed class TwoFactorFixture : IDisposable
{
    public AdjustableTime Time { get; } = new();
    public CrmServer Server { get; }

    public TwoFactorFixture() => Server = new CrmServer(TestSettings.Fast(("Parse:Accounts:LockoutThreshold", "0")), s => s.AddSingleton<TimeProvider>(Time));

    public void Dispose() => Server.Dispose();
}

/// <summary>
/// Two-factor sign-in over real HTTP in parse-server's <c>authData.mfa</c> shape (the answers and codes were checked
/// against parse-server 9.10 with its mfa adapter): enrolment, log-in with and without a code, replay, recovery codes
/// (once, also when used concurrently), changing and turning off, the secret never echoed, and role-required MFA.
/// </summary>
public sealed class TwoFactorTests(TwoFactorFixture fixture) : IClassFixture<TwoFactorFixture>
{
    private const string Password = "correct horse battery";
    private CrmServer Server => fixture.Server;

    /// <summary>The code of the server's current step, after moving the clock to a step no earlier log-in used.</summary>
    private string FreshCode(Authenticator app, AdjustableTime? clock = null)
    {
        clock ??= fixture.Time;
        clock.Offset += TimeSpan.FromSeconds(30);
        return app.CodeAt(clock.GetUtcNow());
    }

    private static JsonObject Mfa(params (string Key, JsonNode? Value)[] fields) =>
        new() { ["authData"] = new JsonObject { ["mfa"] = new JsonObject(fields.Select(f => KeyValuePair.Create(f.Key, f.Value))) } };

    private static JsonObject LogInBody(string username, JsonObject? mfa = null)
    {
        var body = new JsonObject { ["username"] = username, ["password"] = Password };
        if (mfa is not null) body["authData"] = new JsonObject { ["mfa"] = mfa };
        return body;
    }

    private async Task<(ParseClient Client, string UserId, string Username, Authenticator App, string[] Recovery)> EnrolledUserAsync(CrmServer? server = null, AdjustableTime? clock = null)
    {
        server ??= Server;
        var client = server.Client();
        var username = Wire.Unique("mfa");
        var (userId, _) = await client.SignUpAsync(username, Password);
        var app = new Authenticator();
        var answer = (await client.PutAsync($"users/{userId}", Mfa(("secret", app.Secret), ("token", FreshCode(app, clock))))).EnsureStatus(HttpStatusCode.OK);
        var recovery = answer.Json!["authDataResponse"]!["mfa"]!["recovery"]!.GetValue<string>().Split(", ");
        return (client, userId, username, app, recovery);
    }

    [Fact]
    public async Task enrolment_answers_recovery_codes_and_log_in_then_needs_a_current_code()
    {
        var (client, _, username, app, recovery) = await EnrolledUserAsync();
        Assert.Equal(10, recovery.Length);
        Assert.Equal(10, recovery.Distinct().Count());
        Assert.All(recovery, code => Assert.Matches("^[a-z2-9]{5}(-[a-z2-9]{5}){3}$", code));

        // As parse-server: the user sees that the provider is on, never its secret.
        var me = (await client.GetAsync("users/me")).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal("enabled", me.Json!["authData"]!["mfa"]!["status"]!.GetValue<string>());

        using var anonymous = Server.Client();
        var missing = (await anonymous.PostAsync("login", LogInBody(username))).EnsureError(-1);
        Assert.Equal(HttpStatusCode.BadRequest, missing.Status);
        Assert.Equal("Missing additional authData mfa", missing.Json!["error"]!.GetValue<string>());
        Assert.Equal("Invalid MFA token", (await anonymous.PostAsync("login", LogInBody(username, new JsonObject()))).EnsureError(141).Json!["error"]!.GetValue<string>());

        var code = FreshCode(app);
        var wrong = code[..5] + (char)('0' + ((code[5] - '0' + 1) % 10));
        var refused = (await anonymous.PostAsync("login", LogInBody(username, new JsonObject { ["token"] = wrong }))).EnsureError(141);
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal("Invalid MFA token", refused.Json!["error"]!.GetValue<string>());
        Assert.Null(refused.Json["sessionToken"]);

        var ok = (await anonymous.PostAsync("login", LogInBody(username, new JsonObject { ["token"] = code }))).EnsureStatus(HttpStatusCode.OK);
        Assert.StartsWith("r:", ok.Json!["sessionToken"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("enabled", ok.Json["authData"]!["mfa"]!["status"]!.GetValue<string>());
        Assert.Equal("{}", ok.Json["authDataResponse"]!.ToJsonString());
        using var session = Server.Client().WithSession(ok.Json["sessionToken"]!.GetValue<string>());
        (await session.GetAsync("users/me")).EnsureStatus(HttpStatusCode.OK);

        // GET /login carries authData as JSON text in the query string.
        var query = $"login?username={username}&password={Uri.EscapeDataString(Password)}&authData={Uri.EscapeDataString($"{{\"mfa\":{{\"token\":\"{FreshCode(app)}\"}}}}")}";
        (await anonymous.GetAsync(query)).EnsureStatus(HttpStatusCode.OK);
        // /verifyPassword proves the password only and opens no session, so it needs no second factor.
        (await anonymous.PostAsync("verifyPassword", LogInBody(username))).EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task enrolment_refuses_a_wrong_token_a_weak_secret_and_missing_fields()
    {
        var (client, userId, _) = await Server.UserAsync("mfaenrol");
        using (client)
        {
            var app = new Authenticator();
            var code = FreshCode(app);
            var wrong = code[..5] + (char)('0' + ((code[5] - '0' + 1) % 10));
            Assert.Equal("Invalid MFA token", (await client.PutAsync($"users/{userId}", Mfa(("secret", app.Secret), ("token", wrong)))).EnsureError(141).Json!["error"]!.GetValue<string>());
            Assert.Equal("Invalid MFA data", (await client.PutAsync($"users/{userId}", Mfa(("secret", "SHORT"), ("token", code)))).EnsureError(141).Json!["error"]!.GetValue<string>());
            Assert.Equal("Invalid MFA data", (await client.PutAsync($"users/{userId}", Mfa(("secret", app.Secret)))).EnsureError(141).Json!["error"]!.GetValue<string>());
            Assert.Equal("Invalid MFA data", (await client.PutAsync($"users/{userId}", Mfa(("secret", "not base32 at all, not at all!"), ("token", code)))).EnsureError(141).Json!["error"]!.GetValue<string>());
            (await client.PutAsync($"users/{userId}", new JsonObject { ["authData"] = new JsonObject { ["mfa"] = "on" } })).EnsureError(141);
            // Nothing was enrolled by the refused attempts: log-in needs no code.
            var me = (await client.GetAsync("users/me")).EnsureStatus(HttpStatusCode.OK);
            Assert.Null(me.Json!["authData"]);

            // Another user cannot enrol this one, and sign-up cannot carry it.
            var (other, _, _) = await Server.UserAsync("mfaother");
            using (other) (await other.PutAsync($"users/{userId}", Mfa(("secret", app.Secret), ("token", code)))).EnsureError(206);
            using var anonymous = Server.Client();
            var signUp = new JsonObject { ["username"] = Wire.Unique("mfasignup"), ["password"] = Password, ["authData"] = Mfa(("secret", app.Secret), ("token", code))["authData"]!.DeepClone() };
            (await anonymous.PostAsync("users", signUp)).EnsureError(119);
        }
    }

    [Fact]
    public async Task a_code_works_once_within_its_window()
    {
        var (client, _, username, app, _) = await EnrolledUserAsync();
        client.Dispose();
        using var anonymous = Server.Client();
        var code = FreshCode(app);
        (await anonymous.PostAsync("login", LogInBody(username, new JsonObject { ["token"] = code }))).EnsureStatus(HttpStatusCode.OK);
        (await anonymous.PostAsync("login", LogInBody(username, new JsonObject { ["token"] = code }))).EnsureError(141);
        // Still inside the window (one step later the previous step's code is accepted), but already used.
        fixture.Time.Offset += TimeSpan.FromSeconds(30);
        (await anonymous.PostAsync("login", LogInBody(username, new JsonObject { ["token"] = code }))).EnsureError(141);
        // The enrolment's own code was spent by the enrolment too.
        (await anonymous.PostAsync("login", LogInBody(username, new JsonObject { ["token"] = FreshCode(app) }))).EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task concurrent_log_ins_with_one_code_succeed_at_most_once()
    {
        var (client, _, username, app, recovery) = await EnrolledUserAsync();
        client.Dispose();
        foreach (var token in new[] { FreshCode(app), recovery[0] })
        {
            var attempts = await Task.WhenAll(Enumerable.Range(0, 6).Select(async _ =>
            {
                using var c = Server.Client();
                return await c.PostAsync("login", LogInBody(username, new JsonObject { ["token"] = token }));
            }));
            Assert.Single(attempts, a => a.Status == HttpStatusCode.OK);
            Assert.All(attempts.Where(a => a.Status != HttpStatusCode.OK), a => Assert.Equal(141, a.Code));
        }
    }

    [Fact]
    public async Task a_recovery_code_works_once_and_is_typed_loosely()
    {
        var (client, _, username, _, recovery) = await EnrolledUserAsync();
        client.Dispose();
        using var anonymous = Server.Client();
        (await anonymous.PostAsync("login", LogInBody(username, new JsonObject { ["token"] = recovery[3] }))).EnsureStatus(HttpStatusCode.OK);
        (await anonymous.PostAsync("login", LogInBody(username, new JsonObject { ["token"] = recovery[3] }))).EnsureError(141);
        // Without the dashes and in capitals, as people copy it from paper.
        var typed = recovery[4].Replace("-", "", StringComparison.Ordinal).ToUpperInvariant();
        (await anonymous.PostAsync("login", LogInBody(username, new JsonObject { ["token"] = typed }))).EnsureStatus(HttpStatusCode.OK);
        (await anonymous.PostAsync("login", LogInBody(username, new JsonObject { ["token"] = recovery[4] }))).EnsureError(141);
        (await anonymous.PostAsync("login", LogInBody(username, new JsonObject { ["token"] = "aaaaa-bbbbb-ccccc-ddddd" }))).EnsureError(141);
    }

    [Fact]
    public async Task changing_the_secret_needs_the_current_factor_and_replaces_the_recovery_codes()
    {
        var (client, userId, username, app, recovery) = await EnrolledUserAsync();
        using (client)
        {
            var next = new Authenticator();
            // As parse-server: re-enrolling an enrolled user without {old} is refused.
            (await client.PutAsync($"users/{userId}", Mfa(("secret", next.Secret), ("token", FreshCode(next))))).EnsureError(141);
            (await client.PutAsync($"users/{userId}", Mfa(("secret", next.Secret), ("token", FreshCode(next)), ("old", "000000")))).EnsureError(141);
            fixture.Time.Offset += TimeSpan.FromSeconds(30);
            var now = fixture.Time.GetUtcNow();
            var changed = (await client.PutAsync($"users/{userId}", Mfa(("secret", next.Secret), ("token", next.CodeAt(now)), ("old", app.CodeAt(now))))).EnsureStatus(HttpStatusCode.OK);
            var fresh = changed.Json!["authDataResponse"]!["mfa"]!["recovery"]!.GetValue<string>().Split(", ");
            Assert.Empty(fresh.Intersect(recovery));

            using var anonymous = Server.Client();
            (await anonymous.PostAsync("login", LogInBody(username, new JsonObject { ["token"] = recovery[0] }))).EnsureError(141);
            (await anonymous.PostAsync("login", LogInBody(username, new JsonObject { ["token"] = FreshCode(app) }))).EnsureError(141);
            (await anonymous.PostAsync("login", LogInBody(username, new JsonObject { ["token"] = FreshCode(next) }))).EnsureStatus(HttpStatusCode.OK);
            (await anonymous.PostAsync("login", LogInBody(username, new JsonObject { ["token"] = fresh[0] }))).EnsureStatus(HttpStatusCode.OK);
        }
    }

    [Fact]
    public async Task turning_it_off_needs_a_current_code_except_for_the_master_key()
    {
        var (client, userId, username, app, recovery) = await EnrolledUserAsync();
        using (client)
        {
            // parse-server drops the factor on {mfa: null} with the session alone; here a stolen session is not enough.
            var refused = (await client.PutAsync($"users/{userId}", new JsonObject { ["authData"] = new JsonObject { ["mfa"] = null } })).EnsureError(141);
            Assert.Contains("current code", refused.Json!["error"]!.GetValue<string>(), StringComparison.Ordinal);
            (await client.PutAsync($"users/{userId}", Mfa(("old", "123456")))).EnsureError(141);
            (await client.PutAsync($"users/{userId}", Mfa())).EnsureError(141);
            Assert.Equal("enabled", (await client.GetAsync("users/me")).Json!["authData"]!["mfa"]!["status"]!.GetValue<string>());

            var off = (await client.PutAsync($"users/{userId}", Mfa(("old", FreshCode(app))))).EnsureStatus(HttpStatusCode.OK);
            Assert.Equal("{}", off.Json!["authDataResponse"]!.ToJsonString());
            Assert.Null((await client.GetAsync("users/me")).Json!["authData"]);
            using var anonymous = Server.Client();
            (await anonymous.PostAsync("login", LogInBody(username))).EnsureStatus(HttpStatusCode.OK);
            // The old recovery codes died with it: after a new enrolment they are not accepted.
            var again = new Authenticator();
            (await client.PutAsync($"users/{userId}", Mfa(("secret", again.Secret), ("token", FreshCode(again))))).EnsureStatus(HttpStatusCode.OK);
            (await anonymous.PostAsync("login", LogInBody(username, new JsonObject { ["token"] = recovery[1] }))).EnsureError(141);

            // An administrator turns it off for a user who lost the device.
            using var master = Server.Client().AsMaster();
            (await master.PutAsync($"users/{userId}", new JsonObject { ["authData"] = new JsonObject { ["mfa"] = null } })).EnsureStatus(HttpStatusCode.OK);
            (await anonymous.PostAsync("login", LogInBody(username))).EnsureStatus(HttpStatusCode.OK);
        }
    }

    [Fact]
    public async Task the_secret_and_recovery_codes_are_never_echoed()
    {
        var client = Server.Client();
        var username = Wire.Unique("mfasecret");
        var (userId, _) = await client.SignUpAsync(username, Password);
        var app = new Authenticator();
        var enrol = (await client.PutAsync($"users/{userId}", Mfa(("secret", app.Secret), ("token", FreshCode(app))))).EnsureStatus(HttpStatusCode.OK);
        var recovery = enrol.Json!["authDataResponse"]!["mfa"]!["recovery"]!.GetValue<string>().Split(", ");
        using var master = Server.Client().AsMaster();
        using var anonymous = Server.Client();
        var login = await anonymous.PostAsync("login", LogInBody(username, new JsonObject { ["token"] = FreshCode(app) }));
        using var graphql = new GraphQLClient(Server).WithSession(client.SessionToken);
        using var masterGraphql = new GraphQLClient(Server).AsMaster();
        var answers = new[]
        {
            enrol.Raw[..enrol.Raw.IndexOf("authDataResponse", StringComparison.Ordinal)],
            (await client.GetAsync("users/me")).Raw,
            (await client.GetAsync($"users/{userId}")).Raw,
            (await master.GetAsync($"users/{userId}")).Raw,
            (await master.QueryAsync("_User", new JsonObject { ["objectId"] = userId })).Raw,
            (await master.GetAsync($"classes/_User/{userId}")).Raw,
            login.EnsureStatus(HttpStatusCode.OK).Raw,
            (await graphql.SendAsync("{ viewer { sessionToken user { id username } } }")).Raw,
            (await masterGraphql.SendAsync($"{{ user(id: \"{userId}\") {{ id username }} }}")).Raw,
            (await client.PutAsync($"users/{userId}", new JsonObject { ["phone"] = "555" })).Raw,
        };
        foreach (var raw in answers)
        {
            Assert.DoesNotContain(app.Secret, raw, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("_mfa", raw, StringComparison.Ordinal);
            foreach (var code in recovery) Assert.DoesNotContain(code, raw, StringComparison.Ordinal);
        }
        // A query cannot find the user by its secret either (the internal fields are not queryable).
        var probe = await master.QueryAsync("_User", new JsonObject { ["_mfa_secret"] = app.Secret });
        Assert.True(probe.Status != HttpStatusCode.OK || probe.Results.Count == 0, probe.Raw);
        client.Dispose();
    }

    [Fact]
    public async Task graphql_log_in_takes_the_code_in_auth_data()
    {
        var (client, _, username, app, _) = await EnrolledUserAsync();
        client.Dispose();
        using var graphql = new GraphQLClient(Server);
        const string mutation = "mutation($input: LogInInput!) { logIn(input: $input) { viewer { sessionToken user { username } } } }";
        var missing = await graphql.SendAsync(mutation, new { input = new { username, password = Password } });
        Assert.Equal("Missing additional authData mfa", missing.ParseError(-1)["message"]!.GetValue<string>());
        (await graphql.SendAsync(mutation, new { input = new { username, password = Password, authData = new { mfa = new { token = "000000" } } } })).ParseError(141);
        var ok = (await graphql.SendAsync(mutation, new { input = new { username, password = Password, authData = new { mfa = new { token = FreshCode(app) } } } })).Ok();
        Assert.StartsWith("r:", ok["logIn"]!["viewer"]!["sessionToken"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(username, ok["logIn"]!["viewer"]!["user"]!["username"]!.GetValue<string>());
    }

    [Fact]
    public async Task a_role_can_require_it_and_its_members_log_in_only_by_enrolling()
    {
        var time = new AdjustableTime();
        using var server = new CrmServer(TestSettings.Fast(("Parse:Accounts:MfaRequiredRoles", "Auditors, Managers")), s => s.AddSingleton<TimeProvider>(time));
        using var client = server.Client();
        var manager = Wire.Unique("manager");
        var (managerId, _) = await client.SignUpAsync(manager, Password);
        await server.CreateRoleAsync("Managers", managerId);

        using var anonymous = server.Client();
        var refused = (await anonymous.PostAsync("login", LogInBody(manager))).EnsureError(-1);
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        var message = refused.Json!["error"]!.GetValue<string>();
        Assert.Contains("Managers", message, StringComparison.Ordinal);
        Assert.Contains("enrol", message, StringComparison.Ordinal);
        Assert.Null(refused.Json["sessionToken"]);

        // Log-in and enrolment in one request: the answer has the session and the recovery codes.
        var app = new Authenticator();
        var enrolled = (await anonymous.PostAsync("login", LogInBody(manager, new JsonObject { ["secret"] = app.Secret, ["token"] = app.CodeAt(time.GetUtcNow()) })))
            .EnsureStatus(HttpStatusCode.OK);
        Assert.StartsWith("r:", enrolled.Json!["sessionToken"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(10, enrolled.Json["authDataResponse"]!["mfa"]!["recovery"]!.GetValue<string>().Split(", ").Length);
        Assert.Equal("enabled", enrolled.Json["authData"]!["mfa"]!["status"]!.GetValue<string>());

        // From now on the ordinary second factor applies, and it cannot be turned off while the role requires it.
        (await anonymous.PostAsync("login", LogInBody(manager))).EnsureError(-1);
        time.Offset += TimeSpan.FromSeconds(30);
        var session = (await anonymous.PostAsync("login", LogInBody(manager, new JsonObject { ["token"] = app.CodeAt(time.GetUtcNow()) }))).EnsureStatus(HttpStatusCode.OK);
        using var self = server.Client().WithSession(session.Json!["sessionToken"]!.GetValue<string>());
        time.Offset += TimeSpan.FromSeconds(30);
        var off = (await self.PutAsync($"users/{managerId}", Mfa(("old", app.CodeAt(time.GetUtcNow()))))).EnsureError(119);
        Assert.Contains("Managers", off.Json!["error"]!.GetValue<string>(), StringComparison.Ordinal);

        // Members of other roles, and users in none, log in as before.
        var clerk = Wire.Unique("clerk");
        await client.SignUpAsync(clerk, Password);
        (await anonymous.PostAsync("login", LogInBody(clerk))).EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task wrong_codes_count_towards_the_lockout()
    {
        var time = new AdjustableTime();
        using var server = new CrmServer(TestSettings.Fast(("Parse:Accounts:LockoutThreshold", "3")), s => s.AddSingleton<TimeProvider>(time));
        var (client, _, username, app, _) = await EnrolledUserAsync(server, time);
        client.Dispose();
        using var anonymous = server.Client();
        for (var i = 0; i < 3; i++)
            (await anonymous.PostAsync("login", LogInBody(username, new JsonObject { ["token"] = "aaaaa-bbbbb-ccccc-dddd" + i }))).EnsureError(141);
        // The right password and a right code no longer help until the lockout ends.
        var locked = (await anonymous.PostAsync("login", LogInBody(username, new JsonObject { ["token"] = FreshCode(app, time) }))).EnsureError(101);
        Assert.Contains("locked", locked.Json!["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
