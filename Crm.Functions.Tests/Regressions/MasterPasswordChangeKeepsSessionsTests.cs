using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Issue 17 item 11: a password reset with the master key (how an administrator recovers a compromised account)
/// left the user's sessions valid, so a stolen session token outlived the reset.
/// </summary>
public sealed class MasterPasswordChangeKeepsSessionsTests(FastServerFixture fixture) : IClassFixture<FastServerFixture>
{
    [Fact]
    public async Task a_master_key_password_change_ends_every_session_of_the_user()
    {
        var username = Wire.Unique("victim");
        using var victim = fixture.Server.Client();
        var (userId, signUpToken) = await victim.SignUpAsync(username);
        using var second = fixture.Server.Client();
        (await second.LogInAsync(username, "correct horse battery")).EnsureStatus(HttpStatusCode.OK);

        using var master = fixture.Server.Client().AsMaster();
        var reset = (await master.PutAsync($"users/{userId}", new JsonObject { ["password"] = "a brand new password" })).EnsureStatus(HttpStatusCode.OK);
        Assert.Null(reset.Json!["sessionToken"]);

        (await victim.WithSession(signUpToken).GetAsync("users/me")).EnsureError(209);
        (await second.GetAsync("users/me")).EnsureError(209);
        using var again = fixture.Server.Client();
        (await again.LogInAsync(username, "a brand new password")).EnsureStatus(HttpStatusCode.OK);
        (await again.GetAsync("users/me")).EnsureStatus(HttpStatusCode.OK);
    }
}
