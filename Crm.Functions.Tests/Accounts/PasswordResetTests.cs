using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Store;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Crm.Functions.Tests.Accounts;

/// <summary>
/// Password reset end to end against a real SMTP server: the REST request, the mail, the mailed link, the pages,
/// and what the reset does to the account (new password, every session revoked, the link spent).
/// </summary>
public sealed class PasswordResetTests : IDisposable
{
    private readonly SmtpCatcher _smtp = new();
    private readonly CrmServer _server;
    private readonly AccountPagesClient _pages = new();

    public PasswordResetTests() => _server = new CrmServer(_smtp.Settings());

    public void Dispose()
    {
        _pages.Dispose();
        _server.Dispose();
        _smtp.Dispose();
    }

    private async Task<(string Username, string Email, string Token)> UserAsync()
    {
        using var client = _server.Client();
        var username = Wire.Unique("reset");
        var email = $"{username}@example.com";
        var (_, token) = await client.SignUpAsync(username, "old password 1", email);
        return (username, email, token);
    }

    private async Task<string> RequestLinkAsync(string email, int index = 0)
    {
        using var client = _server.Client();
        var answer = (await client.PostAsync("requestPasswordReset", new JsonObject { ["email"] = email })).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal("{}", answer.Json!.ToJsonString());
        return SmtpCatcher.LinkIn(await _smtp.MailToAsync(email, index), _server);
    }

    [Fact]
    public async Task reset_by_mail_sets_the_new_password_and_revokes_every_session()
    {
        var (username, email, signUpToken) = await UserAsync();
        using var other = _server.Client();
        (await other.LogInAsync(username, "old password 1")).EnsureStatus(HttpStatusCode.OK);

        using var client = _server.Client();
        (await client.PostAsync("requestPasswordReset", new JsonObject { ["email"] = email })).EnsureStatus(HttpStatusCode.OK);
        var mail = await _smtp.MailToAsync(email);
        Assert.Equal("Reset your Acme CRM password", mail["subject"]!.GetValue<string>());
        Assert.Equal(["text/plain", "text/html"], mail["contentTypes"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Contains("CRM Test", mail["from"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains(username, mail["text"]!.GetValue<string>(), StringComparison.Ordinal);
        // Links are built from Parse:PublicServerUrl, never from the Host the request named.
        Assert.Contains(SmtpCatcher.PublicServerUrl + "/apps/crm/request_password_reset?token=", mail["text"]!.GetValue<string>(), StringComparison.Ordinal);
        var link = SmtpCatcher.LinkIn(mail, _server);

        var (page, url) = await _pages.OpenResetLinkAsync(link);
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Contains("Choose a new password", page.Html, StringComparison.Ordinal);
        Assert.Contains(username, page.Html, StringComparison.Ordinal);
        var done = await _pages.PostFormAsync(url[..url.IndexOf('?', StringComparison.Ordinal)], new Dictionary<string, string>
        {
            ["token"] = page.Hidden("token"), ["new_password"] = "brand new password", ["confirm_password"] = "brand new password",
        });
        Assert.Equal(HttpStatusCode.OK, done.Status);
        Assert.Contains("Password changed", done.Html, StringComparison.Ordinal);

        // Every earlier session is gone; the old password no longer works, the new one does.
        foreach (var token in new[] { signUpToken, other.SessionToken! })
        {
            using var stale = _server.Client().WithSession(token);
            (await stale.GetAsync("users/me")).EnsureError(209);
        }
        (await _server.Client().LogInAsync(username, "old password 1")).EnsureError(101);
        (await _server.Client().LogInAsync(username, "brand new password")).EnsureStatus(HttpStatusCode.OK);

        // The link is spent.
        Assert.Equal(HttpStatusCode.BadRequest, (await _pages.GetAsync(link)).Status);
        var again = await _pages.PostFormAsync(url[..url.IndexOf('?', StringComparison.Ordinal)], new Dictionary<string, string>
        {
            ["token"] = page.Hidden("token"), ["new_password"] = "third password!", ["confirm_password"] = "third password!",
        });
        Assert.Equal(HttpStatusCode.BadRequest, again.Status);
        Assert.Contains("invalid, has expired, or has been used", again.Html, StringComparison.Ordinal);
        (await _server.Client().LogInAsync(username, "brand new password")).EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task one_link_used_by_many_requests_at_once_changes_the_password_exactly_once()
    {
        var (username, email, _) = await UserAsync();
        var link = await RequestLinkAsync(email);
        var token = new Uri(link).Query["?token=".Length..];
        var action = $"{_server.ParseUrl}/apps/crm/choose_password";
        var passwords = Enumerable.Range(0, 8).Select(i => $"racing password {i}").ToList();
        var results = await Task.WhenAll(passwords.Select(p => _pages.PostFormAsync(action, new Dictionary<string, string>
        {
            ["token"] = token, ["new_password"] = p, ["confirm_password"] = p,
        })));
        Assert.Equal(1, results.Count(r => r.Status == HttpStatusCode.OK));
        Assert.All(results.Where(r => r.Status != HttpStatusCode.OK), r => Assert.Equal(HttpStatusCode.BadRequest, r.Status));
        var winner = passwords[Array.FindIndex(results, r => r.Status == HttpStatusCode.OK)];
        (await _server.Client().LogInAsync(username, winner)).EnsureStatus(HttpStatusCode.OK);
        // Fewer losers than the lockout threshold (5), so the refusals are for the password, not a locked account.
        foreach (var password in passwords.Where(p => p != winner).Take(4))
            (await _server.Client().LogInAsync(username, password)).EnsureError(101);
    }

    [Fact]
    public async Task an_unknown_address_gets_the_same_answer_and_no_mail()
    {
        var (_, email, _) = await UserAsync();
        using var client = _server.Client();
        var unknown = Wire.Unique("nobody") + "@example.com";
        var forUnknown = await client.PostAsync("requestPasswordReset", new JsonObject { ["email"] = unknown });
        var forKnown = await client.PostAsync("requestPasswordReset", new JsonObject { ["email"] = email });
        Assert.Equal(forKnown.Status, forUnknown.Status);
        Assert.Equal(forKnown.Raw, forUnknown.Raw);
        string[] varying = ["Date", "X-Request-ID"];
        Assert.Equal(forKnown.Headers!.Where(h => !varying.Contains(h.Key)).OrderBy(h => h.Key), forUnknown.Headers!.Where(h => !varying.Contains(h.Key)).OrderBy(h => h.Key));
        // Mail work runs in request order after the answer: once the known address's mail is out, the unknown one's
        // turn has passed, and it sent nothing.
        await _smtp.MailToAsync(email);
        Assert.Empty(_smtp.MailsTo(unknown));
    }

    [Fact]
    public async Task the_store_keeps_only_a_hash_of_the_token()
    {
        var (username, email, _) = await UserAsync();
        var link = await RequestLinkAsync(email);
        var token = new Uri(link).Query["?token=".Length..];
        var store = _server.Services.GetRequiredService<IObjectStore>();
        var user = Assert.Single(await store.FindAsync(new StoreQuery("_User",
            new CompareNode(FieldRef.Of("username", new FieldDefinition(FieldType.String)), CompareOp.Eq, new StringValue(username)), [], 0, 1), CancellationToken.None));
        var stored = user.Data.ToJsonString();
        Assert.DoesNotContain(token, stored, StringComparison.Ordinal);
        Assert.Contains("_reset_token_hash", stored, StringComparison.Ordinal);
        // Nor does the API show the hash to the user itself.
        var me = await _server.Client().LogInAsync(username, "old password 1");
        Assert.DoesNotContain("_reset_token", me.Raw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task a_refused_password_leaves_the_link_usable()
    {
        var (username, email, _) = await UserAsync();
        var link = await RequestLinkAsync(email);
        var (page, url) = await _pages.OpenResetLinkAsync(link);
        var action = url[..url.IndexOf('?', StringComparison.Ordinal)];
        var tooShort = await _pages.PostFormAsync(action, new Dictionary<string, string> { ["token"] = page.Hidden("token"), ["new_password"] = "short", ["confirm_password"] = "short" });
        Assert.Equal(HttpStatusCode.BadRequest, tooShort.Status);
        Assert.Contains("at least 8 characters", tooShort.Html, StringComparison.Ordinal);
        var differ = await _pages.PostFormAsync(action, new Dictionary<string, string> { ["token"] = page.Hidden("token"), ["new_password"] = "long enough 1", ["confirm_password"] = "long enough 2" });
        Assert.Equal(HttpStatusCode.BadRequest, differ.Status);
        Assert.Contains("The two passwords differ", differ.Html, StringComparison.Ordinal);
        var ok = await _pages.PostFormAsync(action, new Dictionary<string, string> { ["token"] = page.Hidden("token"), ["new_password"] = "long enough 1", ["confirm_password"] = "long enough 1" });
        Assert.Equal(HttpStatusCode.OK, ok.Status);
        (await _server.Client().LogInAsync(username, "long enough 1")).EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task a_newer_link_replaces_the_older_one()
    {
        var (username, email, _) = await UserAsync();
        var first = await RequestLinkAsync(email, 0);
        var second = await RequestLinkAsync(email, 1);
        Assert.NotEqual(first, second);
        Assert.Equal(HttpStatusCode.BadRequest, (await _pages.GetAsync(first)).Status);
        var (page, _) = await _pages.OpenResetLinkAsync(second);
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Contains(username, page.Html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task pages_forbid_framing_scripts_caching_and_cross_site_referrers()
    {
        var page = await _pages.GetAsync($"{_server.ParseUrl}/apps/crm/request_password_reset");
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.StartsWith("text/html", page.Response.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
        var csp = page.Header("Content-Security-Policy")!;
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("form-action 'self'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", page.Html, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("no-store", page.Header("Cache-Control"));
        // The token in a page's URL never goes to another site (same-origin keeps a real Origin on the page's own posts).
        Assert.Equal("same-origin", page.Header("Referrer-Policy"));
        Assert.Equal("DENY", page.Header("X-Frame-Options"));
        // Another application id is not this server's.
        Assert.Equal(HttpStatusCode.NotFound, (await _pages.GetAsync($"{_server.ParseUrl}/apps/other/request_password_reset")).Status);
    }

    [Fact]
    public async Task forged_cross_site_form_posts_are_refused_before_anything_is_done()
    {
        var (username, email, _) = await UserAsync();
        var link = await RequestLinkAsync(email);
        var (page, url) = await _pages.OpenResetLinkAsync(link);
        var action = url[..url.IndexOf('?', StringComparison.Ordinal)];
        var fields = new Dictionary<string, string> { ["token"] = page.Hidden("token"), ["new_password"] = "attacker chosen", ["confirm_password"] = "attacker chosen" };
        var byOrigin = await _pages.PostFormAsync(action, fields, new Dictionary<string, string> { ["Origin"] = "https://evil.example" });
        Assert.Equal(HttpStatusCode.Forbidden, byOrigin.Status);
        var byFetchSite = await _pages.PostFormAsync(action, fields, new Dictionary<string, string> { ["Sec-Fetch-Site"] = "cross-site" });
        Assert.Equal(HttpStatusCode.Forbidden, byFetchSite.Status);
        var requestForm = await _pages.PostFormAsync($"{_server.ParseUrl}/apps/crm/request_password_reset", new Dictionary<string, string> { ["email"] = email },
            new Dictionary<string, string> { ["Origin"] = "null" });
        Assert.Equal(HttpStatusCode.Forbidden, requestForm.Status);
        (await _server.Client().LogInAsync(username, "attacker chosen")).EnsureError(101);
        // The same post from the page's own origin works.
        var own = await _pages.PostFormAsync(action, fields, new Dictionary<string, string> { ["Origin"] = _server.BaseUrl, ["Sec-Fetch-Site"] = "same-origin" });
        Assert.Equal(HttpStatusCode.OK, own.Status);
    }

    [Fact]
    public async Task the_request_page_form_mails_a_link()
    {
        var (_, email, _) = await UserAsync();
        var url = $"{_server.ParseUrl}/apps/crm/request_password_reset";
        var form = await _pages.GetAsync(url);
        Assert.Contains("name=\"email\"", form.Html, StringComparison.Ordinal);
        var sent = await _pages.PostFormAsync(url, new Dictionary<string, string> { ["email"] = email });
        Assert.Equal(HttpStatusCode.OK, sent.Status);
        Assert.Contains("Check your inbox", sent.Html, StringComparison.Ordinal);
        var link = SmtpCatcher.LinkIn(await _smtp.MailToAsync(email), _server);
        Assert.Equal(HttpStatusCode.OK, (await _pages.OpenResetLinkAsync(link)).Page.Status);
    }

    [Fact]
    public async Task graphql_resetPassword_and_sendVerificationEmail_mail_like_rest()
    {
        var (username, email, _) = await UserAsync();
        using var graphql = new GraphQLClient(_server);
        var reset = (await graphql.SendAsync("mutation($email: String!) { resetPassword(input: {email: $email, clientMutationId: \"r1\"}) { ok clientMutationId } }",
            new { email })).Ok();
        Assert.True(reset["resetPassword"]!["ok"]!.GetValue<bool>());
        Assert.Equal("r1", reset["resetPassword"]!["clientMutationId"]!.GetValue<string>());
        var link = SmtpCatcher.LinkIn(await _smtp.MailToAsync(email), _server);
        var (page, _) = await _pages.OpenResetLinkAsync(link);
        Assert.Contains(username, page.Html, StringComparison.Ordinal);

        // Unknown addresses: the same answer.
        var unknown = (await graphql.SendAsync("mutation { resetPassword(input: {email: \"nobody-gql@example.com\"}) { ok } }")).Ok();
        Assert.True(unknown["resetPassword"]!["ok"]!.GetValue<bool>());
        // Verification off on this server: an unverified address gets nothing, but the answer is the same.
        var verify = (await graphql.SendAsync("mutation($email: String!) { sendVerificationEmail(input: {email: $email}) { ok } }", new { email })).Ok();
        Assert.True(verify["sendVerificationEmail"]!["ok"]!.GetValue<bool>());
    }

    [Fact]
    public async Task malformed_requests_get_parse_errors()
    {
        using var client = _server.Client();
        (await client.PostAsync("requestPasswordReset", new JsonObject())).EnsureError(204);
        (await client.PostAsync("requestPasswordReset", new JsonObject { ["email"] = 42 })).EnsureError(125);
        (await client.PostAsync("requestPasswordReset", new JsonObject { ["email"] = new JsonObject() })).EnsureError(125);
        (await client.PostAsync("requestPasswordReset", new JsonObject { ["email"] = new string('a', 300) + "@example.com" })).EnsureError(125);
        // Links with a malformed, unknown or missing token.
        foreach (var query in new[] { "", "?token=", "?token=abc", "?token=" + new string('A', 43), "?token=%00%FF" })
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await _pages.GetAsync($"{_server.ParseUrl}/apps/crm/choose_password{query}")).Status);
            Assert.Equal(HttpStatusCode.BadRequest, (await _pages.GetAsync($"{_server.ParseUrl}/apps/crm/verify_email{query}")).Status);
        }
    }
}

/// <summary>Reset settings and limits, each on its own server.</summary>
public sealed class PasswordResetSettingsTests
{
    [Fact]
    public async Task without_an_smtp_host_the_mail_routes_answer_code_108()
    {
        using var server = new CrmServer(TestSettings.Fast());
        using var client = server.Client();
        var reset = (await client.PostAsync("requestPasswordReset", new JsonObject { ["email"] = "a@example.com" })).EnsureError(108);
        Assert.Contains("Parse:Email:SmtpHost", reset.Json!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        (await client.PostAsync("verificationEmailRequest", new JsonObject { ["email"] = "a@example.com" })).EnsureError(108);
        using var graphql = new GraphQLClient(server);
        graphql_refused(await graphql.SendAsync("mutation { resetPassword(input: {email: \"a@example.com\"}) { ok } }"));
        graphql_refused(await graphql.SendAsync("mutation { sendVerificationEmail(input: {email: \"a@example.com\"}) { ok } }"));
        static void graphql_refused(GraphQLResponse response) =>
            Assert.Equal(108, response.Errors![0]!["extensions"]!["code"]!.GetValue<int>());
    }

    [Fact]
    public async Task an_expired_link_is_refused()
    {
        using var smtp = new SmtpCatcher();
        var time = new AdjustableTime();
        using var server = new CrmServer(smtp.Settings(("Parse:Accounts:PasswordResetTokenMinutes", "30")), services => services.AddSingleton<TimeProvider>(time));
        using var pages = new AccountPagesClient();
        using var client = server.Client();
        var username = Wire.Unique("expiry");
        await client.SignUpAsync(username, "old password 1", $"{username}@example.com");
        (await client.PostAsync("requestPasswordReset", new JsonObject { ["email"] = $"{username}@example.com" })).EnsureStatus(HttpStatusCode.OK);
        var mail = await smtp.MailToAsync($"{username}@example.com");
        Assert.Contains("for 30 minutes", mail["text"]!.GetValue<string>(), StringComparison.Ordinal);
        var link = SmtpCatcher.LinkIn(mail, server);
        time.Offset = TimeSpan.FromMinutes(29);
        var (page, url) = await pages.OpenResetLinkAsync(link);
        time.Offset = TimeSpan.FromMinutes(31);
        Assert.Equal(HttpStatusCode.BadRequest, (await pages.GetAsync(link)).Status);
        var late = await pages.PostFormAsync(url[..url.IndexOf('?', StringComparison.Ordinal)],
            new Dictionary<string, string> { ["token"] = page.Hidden("token"), ["new_password"] = "too late pass", ["confirm_password"] = "too late pass" });
        Assert.Equal(HttpStatusCode.BadRequest, late.Status);
        (await server.Client().LogInAsync(username, "old password 1")).EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task mails_per_address_are_limited_alike_for_known_and_unknown_addresses()
    {
        using var smtp = new SmtpCatcher();
        using var server = new CrmServer(smtp.Settings(("Parse:Email:MailsPerAddressPerHour", "2")));
        using var client = server.Client();
        var username = Wire.Unique("limited");
        await client.SignUpAsync(username, "old password 1", $"{username}@example.com");
        foreach (var email in new[] { $"{username}@example.com", Wire.Unique("nobody") + "@example.com" })
        {
            for (var i = 0; i < 2; i++) (await client.PostAsync("requestPasswordReset", new JsonObject { ["email"] = email })).EnsureStatus(HttpStatusCode.OK);
            var refused = await client.PostAsync("requestPasswordReset", new JsonObject { ["email"] = email });
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.Status);
            Assert.Equal(100, refused.Code);
        }
        // Another address is not affected.
        (await client.PostAsync("requestPasswordReset", new JsonObject { ["email"] = Wire.Unique("other") + "@example.com" })).EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task mail_goes_through_an_authenticating_relay_with_overridden_templates_and_encoded_values()
    {
        using var smtp = new SmtpCatcher("relay-user", "relay-secret");
        var templates = Path.Combine(Path.GetTempPath(), "crm-mail-templates-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(templates);
        try
        {
            File.WriteAllText(Path.Combine(templates, "password_reset.txt"), "Subject: {{appName}}: new password for {{username}}\n\nGo to {{link}} now.\n");
            using var server = new CrmServer(smtp.Settings(("Parse:Email:Username", "relay-user"), ("Parse:Email:Password", "relay-secret"),
                ("Parse:Email:TemplatesFolder", templates)));
            using var client = server.Client();
            var username = "<b>" + Wire.Unique("markup") + "</b>";
            var email = Wire.Unique("markup") + "@example.com";
            await client.SignUpAsync(username, "old password 1", email);
            (await client.PostAsync("requestPasswordReset", new JsonObject { ["email"] = email })).EnsureStatus(HttpStatusCode.OK);
            var mail = await smtp.MailToAsync(email);
            Assert.Equal("relay-user", mail["authenticatedAs"]!.GetValue<string>());
            Assert.Equal($"Acme CRM: new password for {username}", mail["subject"]!.GetValue<string>());
            Assert.StartsWith("Go to " + SmtpCatcher.PublicServerUrl, mail["text"]!.GetValue<string>(), StringComparison.Ordinal);
            // The HTML part is still the built-in one, with the username as text, not markup.
            var html = mail["html"]!.GetValue<string>();
            Assert.Contains(System.Net.WebUtility.HtmlEncode(username), html, StringComparison.Ordinal);
            Assert.DoesNotContain(username, html, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(templates, recursive: true);
        }
    }

    [Fact]
    public void mail_settings_are_checked_at_start()
    {
        static IEnumerable<string> Errors(Action<Core.ParseSettings> change)
        {
            var settings = new Core.ParseSettings { MasterKey = "a-long-enough-master-key" };
            change(settings);
            return new Hosting.ParseSettingsValidator().Validate(null, settings).Failures ?? [];
        }
        Assert.Empty(Errors(_ => { }));
        // Mailed links need the public URL: the request's Host header is never trusted for them.
        Assert.Contains(Errors(s => { s.Email.SmtpHost = "smtp.example.com"; s.Email.From = "no-reply@example.com"; }), e => e.Contains("Parse:PublicServerUrl", StringComparison.Ordinal));
        Assert.Contains(Errors(s => { s.Email.SmtpHost = "smtp.example.com"; s.PublicServerUrl = "https://crm.example.com/parse"; s.Email.From = "not an address"; }),
            e => e.Contains("Parse:Email:From", StringComparison.Ordinal));
        Assert.Contains(Errors(s => s.Email.UseTls = "sometimes"), e => e.Contains("Parse:Email:UseTls", StringComparison.Ordinal));
        Assert.Empty(Errors(s => { s.Email.SmtpHost = "smtp.example.com"; s.Email.From = "CRM <no-reply@example.com>"; s.PublicServerUrl = "https://crm.example.com/parse"; s.Email.UseTls = "Implicit"; }));
    }
}
