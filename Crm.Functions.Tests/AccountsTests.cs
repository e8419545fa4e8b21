using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Store;
using Crm.Functions.Tests.Infrastructure;
using static Crm.Functions.Tests.Infrastructure.Wire;
using Microsoft.Extensions.DependencyInjection;

namespace Crm.Functions.Tests;

/// <summary>Sign-up, log-in, sessions, password rules, lockout and the rate limit, through real HTTP.</summary>
public sealed class AccountsTests(FastServerFixture fixture) : IClassFixture<FastServerFixture>
{
    private const string Password = "correct horse battery";
    private CrmServer Server => fixture.Server;

    private static void AssertSessionToken(JsonNode? token) =>
        Assert.Matches("^r:[0-9a-f]{32}$", token?.GetValue<string>() ?? "");

    [Fact]
    public async Task sign_up_through_users_returns_201_and_a_session_token_of_r_and_32_hex_digits()
    {
        using var client = Server.Client();
        var response = await client.PostAsync("users", new JsonObject { ["username"] = Unique("u"), ["password"] = Password });
        response.EnsureStatus(HttpStatusCode.Created);
        AssertSessionToken(response.Json!["sessionToken"]);
        Assert.Null(response.Json["password"]);
    }

    [Fact]
    public async Task sign_up_through_classes_User_also_returns_a_session_token()
    {
        using var client = Server.Client();
        var response = await client.PostAsync("classes/_User", new JsonObject { ["username"] = Unique("u"), ["password"] = Password });
        response.EnsureStatus(HttpStatusCode.Created);
        AssertSessionToken(response.Json!["sessionToken"]);
        using var me = Server.Client().WithSession(response.Json["sessionToken"]!.GetValue<string>());
        (await me.GetAsync("users/me")).EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task login_works_with_GET_and_the_query_string_and_with_POST_and_a_body()
    {
        using var client = Server.Client();
        var name = Unique("u");
        var (userId, _) = await client.SignUpAsync(name);
        using var anonymous = Server.Client();
        var viaGet = await anonymous.GetAsync($"login?username={name}&password={Uri.EscapeDataString(Password)}");
        viaGet.EnsureStatus(HttpStatusCode.OK);
        Assert.Equal(userId, viaGet.Json!["objectId"]!.GetValue<string>());
        AssertSessionToken(viaGet.Json["sessionToken"]);
        var viaPost = await anonymous.LogInAsync(name, Password);
        viaPost.EnsureStatus(HttpStatusCode.OK);
        AssertSessionToken(viaPost.Json!["sessionToken"]);
        Assert.NotEqual(viaGet.Json["sessionToken"]!.GetValue<string>(), viaPost.Json["sessionToken"]!.GetValue<string>());
    }

    [Fact]
    public async Task login_accepts_the_email_address_in_the_username_field_or_as_email()
    {
        using var client = Server.Client();
        var name = Unique("u");
        var (userId, _) = await client.SignUpAsync(name, email: $"{name}@mail.example.com");
        using var anonymous = Server.Client();
        var byEmailAsUsername = await anonymous.LogInAsync($"{name}@mail.example.com", Password);
        Assert.Equal(userId, byEmailAsUsername.EnsureStatus(HttpStatusCode.OK).Json!["objectId"]!.GetValue<string>());
        var byEmail = await anonymous.PostAsync("login", new JsonObject { ["email"] = $"{name}@mail.example.com", ["password"] = Password });
        Assert.Equal(userId, byEmail.EnsureStatus(HttpStatusCode.OK).Json!["objectId"]!.GetValue<string>());
    }

    [Fact]
    public async Task logout_revokes_the_session_and_the_token_is_then_rejected_with_209()
    {
        using var client = Server.Client();
        var (_, token) = await client.SignUpAsync(Unique("u"));
        (await client.GetAsync("users/me")).EnsureStatus(HttpStatusCode.OK);
        (await client.PostAsync("logout", null)).EnsureStatus(HttpStatusCode.OK);
        using var again = Server.Client().WithSession(token);
        (await again.GetAsync("users/me")).EnsureError(209);
        (await again.QueryAsync("_User")).EnsureError(209);
        (await again.PostAsync("logout", null)).EnsureError(209);
    }

    [Fact]
    public async Task users_me_returns_the_caller_with_its_token_and_is_209_without_or_with_an_invalid_token()
    {
        using var client = Server.Client();
        var name = Unique("u");
        var (userId, token) = await client.SignUpAsync(name);
        var me = (await client.GetAsync("users/me")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Equal(userId, me["objectId"]!.GetValue<string>());
        Assert.Equal(name, me["username"]!.GetValue<string>());
        Assert.Equal($"{name}@example.com", me["email"]!.GetValue<string>());
        Assert.Equal(token, me["sessionToken"]!.GetValue<string>());

        using var anonymous = Server.Client();
        (await anonymous.GetAsync("users/me")).EnsureError(209);
        using var forged = Server.Client().WithSession("r:" + new string('0', 32));
        (await forged.GetAsync("users/me")).EnsureError(209);
        using var garbage = Server.Client().WithSession("not-a-token");
        (await garbage.GetAsync("users/me")).EnsureError(209);
    }

    [Fact]
    public async Task sessions_lists_only_the_callers_own_sessions_and_sessions_me_is_the_current_one()
    {
        using var alice = Server.Client();
        var aliceName = Unique("alice");
        var (aliceId, aliceToken) = await alice.SignUpAsync(aliceName);
        using var secondLogin = Server.Client();
        (await secondLogin.LogInAsync(aliceName, Password)).EnsureStatus(HttpStatusCode.OK);
        using var bob = Server.Client();
        var (bobId, bobToken) = await bob.SignUpAsync(Unique("bob"));

        var aliceSessions = (await alice.GetAsync("sessions")).EnsureStatus(HttpStatusCode.OK).Results;
        Assert.Equal(2, aliceSessions.Count);
        Assert.All(aliceSessions, s => Assert.Equal(aliceId, s!["user"]!["objectId"]!.GetValue<string>()));
        Assert.DoesNotContain(aliceSessions, s => s!["sessionToken"]?.GetValue<string>() == bobToken);

        var bobSessions = (await bob.GetAsync("sessions")).Results;
        var bobSession = Assert.Single(bobSessions);
        Assert.Equal(bobId, bobSession!["user"]!["objectId"]!.GetValue<string>());

        var current = (await alice.GetAsync("sessions/me")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Equal(aliceToken, current["sessionToken"]!.GetValue<string>());
        Assert.Equal(aliceId, current["user"]!["objectId"]!.GetValue<string>());

        // Another user's session is invisible: get, update and delete are all "not found".
        var bobSessionId = bobSession["objectId"]!.GetValue<string>();
        (await alice.GetAsync($"sessions/{bobSessionId}")).EnsureError(101);
        (await alice.PutAsync($"sessions/{bobSessionId}", new JsonObject { ["note"] = "x" })).EnsureError(101);
        (await alice.DeleteAsync($"sessions/{bobSessionId}")).EnsureError(101);
        (await alice.QueryAsync("_Session", new JsonObject { ["sessionToken"] = bobToken })).EnsureStatus(HttpStatusCode.OK);
        Assert.Empty((await alice.QueryAsync("_Session", new JsonObject { ["sessionToken"] = bobToken })).Results);
        (await bob.GetAsync("users/me")).EnsureStatus(HttpStatusCode.OK);

        using var anonymous = Server.Client();
        (await anonymous.GetAsync("sessions")).EnsureError(209);
        (await anonymous.GetAsync("sessions/me")).EnsureError(209);
    }

    [Fact]
    public async Task a_client_cannot_create_a_session_for_another_user_or_choose_its_token()
    {
        using var victim = Server.Client();
        var (victimId, _) = await victim.SignUpAsync(Unique("victim"));
        using var attacker = Server.Client();
        var (attackerId, _) = await attacker.SignUpAsync(Unique("attacker"));
        var chosen = "r:" + Guid.NewGuid().ToString("N");
        var body = new JsonObject
        {
            ["user"] = PointerTo("_User", victimId),
            ["sessionToken"] = chosen,
            ["expiresAt"] = new JsonObject { ["__type"] = "Date", ["iso"] = "2999-01-01T00:00:00.000Z" },
        };
        // Through every door that creates objects: the class route, the alias and batch.
        var viaClasses = await attacker.PostAsync("classes/_Session", body);
        var viaAlias = await attacker.PostAsync("sessions", body);
        var viaBatch = await attacker.BatchAsync([("POST", "classes/_Session", body)]);
        Assert.True(viaBatch.Status == HttpStatusCode.OK, viaBatch.Raw);

        using var stolen = Server.Client().WithSession(chosen);
        var me = await stolen.GetAsync("users/me");
        Assert.True(me.Status != HttpStatusCode.OK || me.Json!["objectId"]!.GetValue<string>() != victimId,
            $"a client-created session logged in as the victim: {viaClasses.Raw} / {viaAlias.Raw} / {viaBatch.Raw}");
        foreach (var created in new[] { viaClasses, viaAlias })
        {
            if (created.Status != HttpStatusCode.Created) continue;
            var token = created.Json!["sessionToken"]?.GetValue<string>();
            Assert.NotEqual(chosen, token);
            if (token is null) continue;
            using var own = Server.Client().WithSession(token);
            Assert.Equal(attackerId, (await own.GetAsync("users/me")).EnsureStatus(HttpStatusCode.OK).Json!["objectId"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task only_the_user_itself_or_master_may_update_or_delete_a_user_others_get_206()
    {
        using var alice = Server.Client();
        var (aliceId, _) = await alice.SignUpAsync(Unique("alice"));
        using var bob = Server.Client();
        await bob.SignUpAsync(Unique("bob"));
        using var anonymous = Server.Client();

        (await bob.PutAsync($"users/{aliceId}", new JsonObject { ["title"] = "hacked" })).EnsureError(206);
        (await anonymous.PutAsync($"users/{aliceId}", new JsonObject { ["title"] = "hacked" })).EnsureError(206);
        (await bob.PutAsync($"classes/_User/{aliceId}", new JsonObject { ["title"] = "hacked" })).EnsureError(206);
        (await bob.DeleteAsync($"users/{aliceId}")).EnsureError(206);
        (await anonymous.DeleteAsync($"users/{aliceId}")).EnsureError(206);
        var inBatch = await bob.BatchAsync([("PUT", $"users/{aliceId}", new JsonObject { ["title"] = "hacked" })]);
        Assert.Equal(206, inBatch.Json![0]!["error"]!["code"]!.GetValue<int>());

        // Only the master key adds fields to _User; the user then writes its own value.
        using var master = Server.Client().AsMaster();
        (await master.PutAsync("schemas/_User", new JsonObject { ["fields"] = new JsonObject { ["title"] = new JsonObject { ["type"] = "String" } } }))
            .EnsureStatus(HttpStatusCode.OK);
        (await alice.PutAsync($"users/{aliceId}", new JsonObject { ["title"] = "AE" })).EnsureStatus(HttpStatusCode.OK);
        (await master.PutAsync($"users/{aliceId}", new JsonObject { ["region"] = "EU" })).EnsureStatus(HttpStatusCode.OK);
        var stored = (await master.GetAsync($"users/{aliceId}")).Json!;
        Assert.Equal("AE", stored["title"]!.GetValue<string>());
        Assert.Equal("EU", stored["region"]!.GetValue<string>());
    }

    [Fact]
    public async Task a_password_change_revokes_every_other_session_and_returns_a_new_token()
    {
        var name = Unique("u");
        using var first = Server.Client();
        var (userId, firstToken) = await first.SignUpAsync(name);
        using var second = Server.Client();
        (await second.LogInAsync(name, Password)).EnsureStatus(HttpStatusCode.OK);
        var secondToken = second.SessionToken!;

        var change = (await first.PutAsync($"users/{userId}", new JsonObject { ["password"] = "a brand new secret" })).EnsureStatus(HttpStatusCode.OK);
        AssertSessionToken(change.Json!["sessionToken"]);
        var newToken = change.Json["sessionToken"]!.GetValue<string>();
        Assert.NotEqual(firstToken, newToken);
        Assert.Null(change.Json["password"]);

        using var old1 = Server.Client().WithSession(firstToken);
        (await old1.GetAsync("users/me")).EnsureError(209);
        using var old2 = Server.Client().WithSession(secondToken);
        (await old2.GetAsync("users/me")).EnsureError(209);
        using var fresh = Server.Client().WithSession(newToken);
        (await fresh.GetAsync("users/me")).EnsureStatus(HttpStatusCode.OK);

        using var anonymous = Server.Client();
        (await anonymous.LogInAsync(name, Password)).EnsureError(101);
        (await anonymous.LogInAsync(name, "a brand new secret")).EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task password_and_its_hash_never_appear_in_any_response()
    {
        var name = Unique("u");
        using var user = Server.Client();
        var signUp = await user.PostAsync("users", new JsonObject { ["username"] = name, ["password"] = Password, ["email"] = $"{name}@example.com" });
        signUp.EnsureStatus(HttpStatusCode.Created);
        user.SessionToken = signUp.Json!["sessionToken"]!.GetValue<string>();
        var userId = signUp.Json["objectId"]!.GetValue<string>();
        using var master = Server.Client().AsMaster();
        var className = Unique("Note");
        var pointer = PointerTo("_User", userId);
        var note = (await master.PostAsync($"classes/{className}", new JsonObject { ["owner"] = pointer })).EnsureStatus(HttpStatusCode.Created);
        var noteId = note.Json!["objectId"]!.GetValue<string>();
        using var anonymous = Server.Client();

        var responses = new List<ParseResponse>
        {
            signUp,
            await user.GetAsync($"users/{userId}"),
            await user.GetAsync("users"),
            await user.QueryAsync("_User"),
            await user.GetAsync("users/me"),
            await anonymous.LogInAsync(name, Password),
            await anonymous.GetAsync($"login?username={name}&password={Uri.EscapeDataString(Password)}"),
            await anonymous.PostAsync("verifyPassword", new JsonObject { ["username"] = name, ["password"] = Password }),
            await user.QueryAsync(className, extra: "include=owner"),
            await user.GetAsync($"classes/{className}/{noteId}?include=owner"),
            await master.GetAsync($"users/{userId}"),
            await master.GetAsync("users"),
            await master.QueryAsync(className, extra: "include=owner"),
            await user.BatchAsync([("GET", $"users/{userId}", null), ("GET", $"classes/{className}?include=owner", null)]),
            await master.BatchAsync([("GET", $"users/{userId}", null), ("GET", "users", null)]),
            await user.PutAsync($"users/{userId}", new JsonObject { ["password"] = "another long secret" }),
            await master.PostAsync("loginAs", new JsonObject { ["userId"] = userId }),
        };
        foreach (var response in responses)
        {
            Assert.True((int)response.Status < 300, response.Raw);
            Assert.DoesNotContain("\"password\"", response.Raw, StringComparison.Ordinal);
            Assert.DoesNotContain("_hashed_password", response.Raw, StringComparison.Ordinal);
            Assert.DoesNotContain("$2", response.Raw, StringComparison.Ordinal);
            Assert.DoesNotContain("_failed_login_count", response.Raw, StringComparison.Ordinal);
        }
        // The include really happened for the user itself (so the check above looked at a user object).
        Assert.Equal(name, responses[8].Results[0]!["owner"]!["username"]!.GetValue<string>());
    }

    [Fact]
    public async Task the_stored_password_is_a_bcrypt_hash_with_cost_10_by_default()
    {
        using var server = new CrmServer(new Dictionary<string, string?> { ["Parse:Accounts:AuthRequestsPerMinute"] = "0" });
        using var client = server.Client();
        var (userId, _) = await client.SignUpAsync(Unique("u"));
        var store = server.Services.GetRequiredService<IObjectStore>();
        var found = await store.FindAsync(new StoreQuery("_User",
            new CompareNode(FieldRef.Of("objectId"), CompareOp.Eq, new StringValue(userId)), [], 0, 1), CancellationToken.None);
        var hash = Assert.Single(found).Data["_hashed_password"]!.GetValue<string>();
        Assert.Matches(@"^\$2[aby]?\$10\$[./A-Za-z0-9]{53}$", hash);
        Assert.True(BCrypt.Net.BCrypt.Verify(Password, hash));
        Assert.Null(found[0].Data["password"]);
    }

    [Fact]
    public async Task usernames_and_emails_are_unique_case_insensitively_with_202_and_203()
    {
        var name = Unique("Case");
        using var client = Server.Client();
        await client.SignUpAsync(name, email: $"{name}@Example.com");
        using var other = Server.Client();
        (await other.PostAsync("users", new JsonObject { ["username"] = name.ToUpperInvariant(), ["password"] = Password }))
            .EnsureError(202);
        (await other.PostAsync("users", new JsonObject { ["username"] = name.ToLowerInvariant(), ["password"] = Password }))
            .EnsureError(202);
        (await other.PostAsync("users", new JsonObject { ["username"] = Unique("x"), ["password"] = Password, ["email"] = $"{name.ToUpperInvariant()}@EXAMPLE.COM" }))
            .EnsureError(203);
        // Renaming onto a taken name is refused as well.
        var (otherId, _) = await other.SignUpAsync(Unique("other"));
        (await other.PutAsync($"users/{otherId}", new JsonObject { ["username"] = name.ToLowerInvariant() })).EnsureError(202);
        (await other.PutAsync($"users/{otherId}", new JsonObject { ["email"] = $"{name.ToLowerInvariant()}@example.COM" })).EnsureError(203);
    }

    [Fact]
    public async Task concurrent_sign_ups_with_the_same_username_create_exactly_one_account()
    {
        var name = Unique("race");
        var clients = Enumerable.Range(0, 8).Select(_ => Server.Client()).ToList();
        try
        {
            var responses = await Task.WhenAll(clients.Select((c, i) => c.PostAsync("users", new JsonObject
            {
                ["username"] = i % 2 == 0 ? name : name.ToUpperInvariant(), ["password"] = Password,
            })));
            Assert.Single(responses, r => r.Status == HttpStatusCode.Created);
            Assert.All(responses.Where(r => r.Status != HttpStatusCode.Created), r => r.EnsureError(202));
            using var master = Server.Client().AsMaster();
            var count = (await master.QueryAsync("_User", new JsonObject { ["username"] = new JsonObject { ["$regex"] = $"^{name}$", ["$options"] = "i" } }, "count=1&limit=0")).Json!;
            Assert.Equal(1, count["count"]!.GetValue<int>());
        }
        finally
        {
            foreach (var c in clients) c.Dispose();
        }
    }

    [Fact]
    public async Task wrong_credentials_are_101_with_the_same_message_for_an_unknown_user_and_a_wrong_password()
    {
        var name = Unique("u");
        using var client = Server.Client();
        await client.SignUpAsync(name);
        using var anonymous = Server.Client();
        var wrongPassword = (await anonymous.LogInAsync(name, "not the password")).EnsureError(101);
        var unknownUser = (await anonymous.LogInAsync(Unique("nobody"), "not the password")).EnsureError(101);
        var unknownViaGet = (await anonymous.GetAsync($"login?username={Unique("nobody")}&password=whatever123")).EnsureError(101);
        Assert.Equal(wrongPassword.Json!["error"]!.GetValue<string>(), unknownUser.Json!["error"]!.GetValue<string>());
        Assert.Equal(wrongPassword.Raw, unknownUser.Raw);
        Assert.Equal(wrongPassword.Raw, unknownViaGet.Raw);
        Assert.Equal(wrongPassword.Raw, (await anonymous.PostAsync("verifyPassword", new JsonObject { ["username"] = name, ["password"] = "nope nope" })).Raw);
    }

    [Fact]
    public async Task a_session_expires_after_the_configured_session_length()
    {
        // A test clock instead of a one-second session and a real wait: sign-up over a slow store on a loaded
        // machine could take longer than the session itself. The clock also shows the session still valid
        // shortly before its end, not only gone after it.
        var time = new AdjustableTime();
        using var server = new CrmServer(TestSettings.Fast(("Parse:SessionLengthSeconds", "3600")), services => services.AddSingleton<TimeProvider>(time));
        using var client = server.Client();
        var (_, token) = await client.SignUpAsync(Unique("u"));
        (await client.GetAsync("users/me")).EnsureStatus(HttpStatusCode.OK);
        time.Offset = TimeSpan.FromMinutes(59);
        using (var almost = server.Client().WithSession(token))
            (await almost.GetAsync("users/me")).EnsureStatus(HttpStatusCode.OK);
        time.Offset = TimeSpan.FromMinutes(61);
        using var expired = server.Client().WithSession(token);
        (await expired.GetAsync("users/me")).EnsureError(209);
        (await expired.QueryAsync("_User")).EnsureError(209);
    }

    [Fact]
    public async Task the_account_locks_after_the_threshold_even_for_the_right_password_and_unlocks_after_the_duration()
    {
        var time = new AdjustableTime();
        using var server = new CrmServer(
            TestSettings.Fast(("Parse:Accounts:LockoutThreshold", "3"), ("Parse:Accounts:LockoutMinutes", "10")),
            services => services.AddSingleton<TimeProvider>(time));
        var name = Unique("u");
        using var client = server.Client();
        await client.SignUpAsync(name);
        using var anonymous = server.Client();

        for (var i = 0; i < 3; i++) (await anonymous.LogInAsync(name, "wrong password")).EnsureError(101);
        var locked = (await anonymous.LogInAsync(name, Password)).EnsureError(101);
        var message = locked.Json!["error"]!.GetValue<string>();
        Assert.Contains("locked", message, StringComparison.Ordinal);
        Assert.Contains("10 minute(s)", message, StringComparison.Ordinal);
        Assert.Null(anonymous.SessionToken);

        time.Offset = TimeSpan.FromMinutes(9);
        (await anonymous.LogInAsync(name, Password)).EnsureError(101);
        time.Offset = TimeSpan.FromMinutes(11);
        (await anonymous.LogInAsync(name, Password)).EnsureStatus(HttpStatusCode.OK);

        // A successful log-in resets the counter: failures below the threshold do not lock.
        for (var i = 0; i < 2; i++) (await anonymous.LogInAsync(name, "wrong password")).EnsureError(101);
        (await anonymous.LogInAsync(name, Password)).EnsureStatus(HttpStatusCode.OK);
        for (var i = 0; i < 2; i++) (await anonymous.LogInAsync(name, "wrong password")).EnsureError(101);
        (await anonymous.LogInAsync(name, Password)).EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task a_password_shorter_than_the_policy_minimum_is_rejected_with_142()
    {
        using var anonymous = Server.Client();
        (await anonymous.PostAsync("users", new JsonObject { ["username"] = Unique("u"), ["password"] = "short" })).EnsureError(142);
        (await anonymous.PostAsync("users", new JsonObject { ["username"] = Unique("u"), ["password"] = "" })).EnsureError(201);
        using var user = Server.Client();
        var (userId, _) = await user.SignUpAsync(Unique("u"));
        (await user.PutAsync($"users/{userId}", new JsonObject { ["password"] = "1234567" })).EnsureError(142);
    }

    [Fact]
    public async Task too_many_log_ins_or_sign_ups_from_one_address_get_429_with_code_100()
    {
        using var server = new CrmServer(new Dictionary<string, string?>
        {
            ["Parse:Accounts:AuthRequestsPerMinute"] = "3", ["Parse:Accounts:BcryptCost"] = "4",
        });
        using var client = server.Client();
        var name = Unique("u");
        await client.SignUpAsync(name);
        using var anonymous = server.Client();
        (await anonymous.LogInAsync(name, Password)).EnsureStatus(HttpStatusCode.OK);
        (await anonymous.LogInAsync(name, "wrong password")).EnsureError(101);
        foreach (var limited in new[]
                 {
                     await anonymous.LogInAsync(name, Password),
                     await anonymous.PostAsync("users", new JsonObject { ["username"] = Unique("u"), ["password"] = Password }),
                     await anonymous.BatchAsync([("POST", "login", new JsonObject { ["username"] = name, ["password"] = Password })]),
                 })
        {
            if (limited.Json is JsonArray batch)
            {
                Assert.Equal(100, batch[0]!["error"]!["code"]!.GetValue<int>());
                continue;
            }
            Assert.Equal(HttpStatusCode.TooManyRequests, limited.Status);
            Assert.Equal(100, limited.Code);
            Assert.False(string.IsNullOrEmpty(limited.Json!["error"]!.GetValue<string>()));
        }
        // The master key is not limited.
        using var master = server.Client().AsMaster();
        (await master.PostAsync("users", new JsonObject { ["username"] = Unique("u"), ["password"] = Password })).EnsureStatus(HttpStatusCode.Created);
    }

    [Fact]
    public async Task emailVerified_is_not_writable_by_clients_119_but_is_by_master()
    {
        using var anonymous = Server.Client();
        (await anonymous.PostAsync("users", new JsonObject { ["username"] = Unique("u"), ["password"] = Password, ["emailVerified"] = true }))
            .EnsureError(119);
        using var user = Server.Client();
        var (userId, _) = await user.SignUpAsync(Unique("u"));
        (await user.PutAsync($"users/{userId}", new JsonObject { ["emailVerified"] = true })).EnsureError(119);
        using var master = Server.Client().AsMaster();
        (await master.PutAsync($"users/{userId}", new JsonObject { ["emailVerified"] = true })).EnsureStatus(HttpStatusCode.OK);
        Assert.True((await user.GetAsync("users/me")).Json!["emailVerified"]!.GetValue<bool>());
    }

    [Fact]
    public async Task a_client_cannot_set_internal_underscore_fields_on_sign_up()
    {
        using var anonymous = Server.Client();
        (await anonymous.PostAsync("users", new JsonObject
        {
            ["username"] = Unique("u"), ["password"] = Password, ["_hashed_password"] = "$2a$10$abcdefghijklmnopqrstuv",
        })).EnsureError(105);
        (await anonymous.PostAsync("users", new JsonObject
        {
            ["username"] = Unique("u"), ["password"] = Password, ["_failed_login_count"] = -100,
        })).EnsureError(105);
    }
}
