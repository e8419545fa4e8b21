using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Accounts;

/// <summary>Email verification (Parse:Accounts:VerifyUserEmails) and log-in blocked until verified, against a real SMTP server.</summary>
public sealed class EmailVerificationTests : IDisposable
{
    private readonly SmtpCatcher _smtp = new();
    private readonly AccountPagesClient _pages = new();

    public void Dispose()
    {
        _pages.Dispose();
        _smtp.Dispose();
    }

    private CrmServer Server(bool verify, bool prevent = false) => new(_smtp.Settings(
        ("Parse:Accounts:VerifyUserEmails", verify ? "true" : "false"),
        ("Parse:Accounts:PreventLoginWithUnverifiedEmail", prevent ? "true" : "false")));

    private static async Task<bool?> VerifiedAsync(CrmServer server, string userId)
    {
        using var master = server.Client().AsMaster();
        var user = (await master.GetAsync($"users/{userId}")).EnsureStatus(HttpStatusCode.OK).Json!;
        return user["emailVerified"]?.GetValue<bool>();
    }

    [Fact]
    public async Task sign_up_mails_a_link_and_only_the_link_sets_email_verified()
    {
        using var server = Server(verify: true);
        using var client = server.Client();
        var username = Wire.Unique("verify");
        var email = $"{username}@example.com";
        var (userId, _) = await client.SignUpAsync(username, "a good password", email);
        Assert.False(await VerifiedAsync(server, userId));

        var mail = await _smtp.MailToAsync(email);
        Assert.Equal("Confirm your email address for Acme CRM", mail["subject"]!.GetValue<string>());
        Assert.Contains(email, mail["html"]!.GetValue<string>(), StringComparison.Ordinal);
        var link = SmtpCatcher.LinkIn(mail, server);
        Assert.Contains("/apps/crm/verify_email?token=", link, StringComparison.Ordinal);

        // Clients cannot write it, not even about themselves.
        (await client.PutAsync($"users/{userId}", new JsonObject { ["emailVerified"] = true })).EnsureError(119);
        Assert.False(await VerifiedAsync(server, userId));

        var page = await _pages.GetAsync(link);
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Contains("Email confirmed", page.Html, StringComparison.Ordinal);
        Assert.True(await VerifiedAsync(server, userId));
        Assert.True((await client.GetAsync("users/me")).Json!["emailVerified"]!.GetValue<bool>());
        // The link works once.
        Assert.Equal(HttpStatusCode.BadRequest, (await _pages.GetAsync(link)).Status);
    }

    [Fact]
    public async Task a_changed_address_is_unverified_again_and_the_old_link_verifies_nothing()
    {
        using var server = Server(verify: true);
        using var client = server.Client();
        var username = Wire.Unique("change");
        var (userId, _) = await client.SignUpAsync(username, "a good password", $"{username}@example.com");
        var firstLink = SmtpCatcher.LinkIn(await _smtp.MailToAsync($"{username}@example.com"), server);

        var newEmail = $"{username}.new@example.com";
        (await client.PutAsync($"users/{userId}", new JsonObject { ["email"] = newEmail })).EnsureStatus(HttpStatusCode.OK);
        Assert.False(await VerifiedAsync(server, userId));
        var secondLink = SmtpCatcher.LinkIn(await _smtp.MailToAsync(newEmail), server);

        Assert.Equal(HttpStatusCode.BadRequest, (await _pages.GetAsync(firstLink)).Status);
        Assert.False(await VerifiedAsync(server, userId));
        Assert.Equal(HttpStatusCode.OK, (await _pages.GetAsync(secondLink)).Status);
        Assert.True(await VerifiedAsync(server, userId));

        // Verified, then changed again: unverified again.
        (await client.PutAsync($"users/{userId}", new JsonObject { ["email"] = $"{username}.third@example.com" })).EnsureStatus(HttpStatusCode.OK);
        Assert.False(await VerifiedAsync(server, userId));
    }

    [Fact]
    public async Task log_in_is_refused_with_205_until_the_address_is_verified()
    {
        using var server = Server(verify: true, prevent: true);
        using var client = server.Client();
        var username = Wire.Unique("blocked");
        var email = $"{username}@example.com";
        var signUp = (await client.PostAsync("users", new JsonObject { ["username"] = username, ["password"] = "a good password", ["email"] = email }))
            .EnsureStatus(HttpStatusCode.Created);
        // No session before verification (Parse's preventLoginWithUnverifiedEmail).
        Assert.Null(signUp.Json!["sessionToken"]);
        var refused = (await server.Client().LogInAsync(username, "a good password")).EnsureError(205);
        Assert.Equal("User email is not verified.", refused.Json!["error"]!.GetValue<string>());
        // A wrong password still answers as any wrong password: 205 tells nothing to whoever lacks it.
        (await server.Client().LogInAsync(username, "a wrong password")).EnsureError(101);

        // Asking again sends a second link; either works.
        (await client.PostAsync("verificationEmailRequest", new JsonObject { ["email"] = email })).EnsureStatus(HttpStatusCode.OK);
        var link = SmtpCatcher.LinkIn(await _smtp.MailToAsync(email, 1), server);
        Assert.Equal(HttpStatusCode.OK, (await _pages.GetAsync(link)).Status);
        (await server.Client().LogInAsync(username, "a good password")).EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task verification_requests_answer_alike_for_unknown_verified_and_unverified_addresses()
    {
        using var server = Server(verify: true);
        using var client = server.Client();
        var username = Wire.Unique("asks");
        var email = $"{username}@example.com";
        await client.SignUpAsync(username, "a good password", email);
        var link = SmtpCatcher.LinkIn(await _smtp.MailToAsync(email), server);
        Assert.Equal(HttpStatusCode.OK, (await _pages.GetAsync(link)).Status);

        var unknown = Wire.Unique("nobody") + "@example.com";
        var forUnknown = await client.PostAsync("verificationEmailRequest", new JsonObject { ["email"] = unknown });
        var forVerified = await client.PostAsync("verificationEmailRequest", new JsonObject { ["email"] = email });
        var other = Wire.Unique("unverified");
        await server.Client().SignUpAsync(other, "a good password", $"{other}@example.com");
        await _smtp.MailToAsync($"{other}@example.com");
        var forUnverified = await client.PostAsync("verificationEmailRequest", new JsonObject { ["email"] = $"{other}@example.com" });
        foreach (var answer in new[] { forUnknown, forVerified, forUnverified })
        {
            answer.EnsureStatus(HttpStatusCode.OK);
            Assert.Equal("{}", answer.Raw);
        }
        // Only the unverified address gets a (second) mail; the queue is in order, so by then the others' turns have passed.
        await _smtp.MailToAsync($"{other}@example.com", 1);
        Assert.Empty(_smtp.MailsTo(unknown));
        Assert.Single(_smtp.MailsTo(email));
        (await client.PostAsync("verificationEmailRequest", new JsonObject())).EnsureError(204);
        (await client.PostAsync("verificationEmailRequest", new JsonObject { ["email"] = true })).EnsureError(125);
    }

    [Fact]
    public async Task with_verification_off_sign_up_sends_nothing_and_log_in_works()
    {
        using var server = Server(verify: false, prevent: true);
        using var client = server.Client();
        var username = Wire.Unique("plain");
        var email = $"{username}@example.com";
        var (userId, token) = await client.SignUpAsync(username, "a good password", email);
        Assert.NotNull(token);
        Assert.Null(await VerifiedAsync(server, userId));
        (await server.Client().LogInAsync(username, "a good password")).EnsureStatus(HttpStatusCode.OK);
        // The next mail to this address is the reset asked for now: sign-up sent none before it.
        (await client.PostAsync("requestPasswordReset", new JsonObject { ["email"] = email })).EnsureStatus(HttpStatusCode.OK);
        var mail = await _smtp.MailToAsync(email);
        Assert.Contains("password", mail["subject"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Single(_smtp.MailsTo(email));
    }
}
