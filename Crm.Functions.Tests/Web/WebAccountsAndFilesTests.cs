using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.CrmTemplate;
using Crm.Functions.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Crm.Functions.Tests.Web;

/// <summary>
/// The web app's account and file features end to end in Chromium (node/browser/web-accounts-files.mjs): attaching,
/// listing, downloading and removing files on a deal and an activity with signed URLs on; the verify-your-email
/// banner; the account page's sessions and password change; "Forgot password?" with the mail read from the real SMTP
/// server. And the server side of "Sign in with Microsoft": GET /signInOptions and the bearer-token exchange for a
/// session the app adopts.
/// </summary>
public sealed class WebAccountsAndFilesTests(ITestOutputHelper output)
{
    /// <summary>The public origin mailed links and file URLs use; Chromium maps it to the server's port.</summary>
    private const string PublicOrigin = "http://crm.mail.test";

    [Fact]
    public async Task files_verification_sessions_password_change_and_reset_work_in_chromium()
    {
        using var smtp = new SmtpCatcher();
        using var server = new CrmServer(smtp.Settings(
            ("Crm:ApplyTemplate", "true"),
            ("Parse:Accounts:VerifyUserEmails", "true"),
            ("Parse:Files:SignedUrls", "true"),
            ("Parse:PublicServerUrl", PublicOrigin + "/parse")));
        var repository = Path.GetFullPath(Path.Combine(Tools.NodeProject("browser"), "..", "..", ".."));
        var screenshots = Path.Combine(repository, "artifacts", "screenshots", "web-accounts-files");
        var run = await Tools.RunAsync("node", Tools.NodeProject("browser"), ["web-accounts-files.mjs"], new Dictionary<string, string>
        {
            ["PUBLIC_ORIGIN"] = PublicOrigin,
            ["SERVER_PORT"] = new Uri(server.BaseUrl).Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["PARSE_URL"] = server.ParseUrl,
            ["MESSAGES_URL"] = smtp.MessagesUrl,
            ["APP_ID"] = CrmServer.AppId,
            ["SCREENSHOT_DIR"] = screenshots,
        });
        output.WriteLine(run.StdOut);
        if (run.StdErr.Length > 0) output.WriteLine(run.StdErr);
        Assert.True(run.ExitCode == 0, $"node web-accounts-files.mjs failed: {run}");
        Assert.Contains("all checks passed", run.StdOut, StringComparison.Ordinal);
        foreach (var shot in new[] { "deal-attachments.png", "account.png", "forgot-password.png" })
            Assert.True(File.Exists(Path.Combine(screenshots, shot)), $"missing screenshot {shot}");
    }

    [Fact]
    public async Task sign_in_with_microsoft_shows_only_with_entra_settings_and_signs_in_through_msal_in_chromium()
    {
        await using var idp = new TestIdentityProvider();
        using var plain = new CrmServer();
        using var server = new CrmServer(idp.Settings(), idp.TrustIn);
        var oid = Guid.NewGuid().ToString();
        var username = Wire.Unique("pat") + "@contoso.example";
        var repository = Path.GetFullPath(Path.Combine(Tools.NodeProject("browser"), "..", "..", ".."));
        var run = await Tools.RunAsync("node", Tools.NodeProject("browser"), ["web-entra.mjs"], new Dictionary<string, string>
        {
            ["APP_URL"] = server.BaseUrl,
            ["PLAIN_URL"] = plain.BaseUrl,
            ["IDP_ORIGIN"] = idp.Instance.TrimEnd('/'),
            ["CLIENT_ID"] = idp.ClientId,
            ["TENANT_ID"] = idp.TenantId,
            ["ACCESS_TOKEN"] = idp.Token(oid, username),
            ["USERNAME"] = username,
            ["SCREENSHOT_DIR"] = Path.Combine(repository, "artifacts", "screenshots", "web-accounts-files"),
        });
        output.WriteLine(run.StdOut);
        if (run.StdErr.Length > 0) output.WriteLine(run.StdErr);
        Assert.True(run.ExitCode == 0, $"node web-entra.mjs failed: {run}");
        Assert.Contains("all checks passed", run.StdOut, StringComparison.Ordinal);

        // The person got an account linked to the token's tenant and object id (not a password account).
        using var master = server.Client().AsMaster();
        var users = (await master.SendAsync(HttpMethod.Get, "users?where=" + Uri.EscapeDataString(new JsonObject { ["username"] = username }.ToJsonString())))
            .EnsureStatus(HttpStatusCode.OK).Json!["results"]!.AsArray();
        Assert.Equal(oid, Assert.Single(users)!["authData"]!["entra"]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task sign_in_options_say_what_the_server_offers_and_nothing_without_settings()
    {
        using var plain = new CrmServer();
        var bare = (await plain.Client().SendAsync(HttpMethod.Get, "signInOptions")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.False(bare["mail"]!.GetValue<bool>());
        Assert.False(bare["verifyUserEmails"]!.GetValue<bool>());
        Assert.Null(bare["entra"]);

        await using var idp = new TestIdentityProvider();
        using var smtp = new SmtpCatcher();
        var settings = smtp.Settings(("Parse:Accounts:VerifyUserEmails", "true"), ("Parse:Entra:RequiredScope", "access_as_user"), ("Parse:Entra:WebClientId", "web-app-client-id"));
        foreach (var (key, value) in idp.Settings()) settings[key] = value;
        using var server = new CrmServer(settings, idp.TrustIn);
        var options = (await server.Client().SendAsync(HttpMethod.Get, "signInOptions")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.True(options["mail"]!.GetValue<bool>());
        Assert.True(options["verifyUserEmails"]!.GetValue<bool>());
        Assert.Equal("web-app-client-id", options["entra"]!["clientId"]!.GetValue<string>());
        Assert.Equal(idp.Instance + idp.TenantId, options["entra"]!["authority"]!.GetValue<string>());
        Assert.Equal($"api://{idp.ClientId}/access_as_user", options["entra"]!["scopes"]![0]!.GetValue<string>());
        // Never more than a browser app ships anyway: no secrets, no tenant list, no key.
        Assert.DoesNotContain("secret", options.ToJsonString(), StringComparison.OrdinalIgnoreCase);

        // The app must be able to reach the sign-in service from its page: the Entra instance is in connect-src.
        using var http = new HttpClient();
        using var page = await http.GetAsync(server.BaseUrl + "/");
        var csp = page.Headers.TryGetValues("Content-Security-Policy", out var values) ? string.Join(" ", values) : "";
        Assert.Contains("connect-src 'self' " + new Uri(idp.Instance).GetLeftPart(UriPartial.Authority), csp, StringComparison.Ordinal);
        using var plainPage = await http.GetAsync(plain.BaseUrl + "/");
        Assert.Contains("connect-src 'self';", string.Join(" ", plainPage.Headers.GetValues("Content-Security-Policy")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task an_entra_access_token_becomes_a_parse_session_as_the_web_app_asks_for_it()
    {
        await using var idp = new TestIdentityProvider();
        using var server = new CrmServer(idp.Settings(), idp.TrustIn);
        var oid = Guid.NewGuid().ToString();
        var bearer = new Dictionary<string, string> { ["Authorization"] = "Bearer " + idp.Token(oid, "pat@contoso.example") };

        // What web/src/account.ts signInWithEntraToken sends: POST /sessions with the token as a bearer.
        var created = (await server.Client().SendAsync(HttpMethod.Post, "sessions", new JsonObject(), bearer)).EnsureStatus(HttpStatusCode.Created).Json!;
        var token = created["sessionToken"]!.GetValue<string>();
        // Then Parse.User.become(token): GET /users/me with the session token.
        using var client = server.Client().WithSession(token);
        var me = (await client.SendAsync(HttpMethod.Get, "users/me")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Equal("pat@contoso.example", me["username"]!.GetValue<string>());
        Assert.Equal(oid, me["authData"]!["entra"]!["id"]!.GetValue<string>());

        // A token the server does not accept gets no session.
        var forged = new Dictionary<string, string> { ["Authorization"] = "Bearer " + idp.Token(oid, audience: "api://someone-else") };
        (await server.Client().SendAsync(HttpMethod.Post, "sessions", new JsonObject(), forged)).EnsureError(209);
    }
}
