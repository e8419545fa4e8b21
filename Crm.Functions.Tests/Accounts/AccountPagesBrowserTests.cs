using System.Net;
using Crm.Functions.Tests.CrmTemplate;
using Crm.Functions.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Crm.Functions.Tests.Accounts;

/// <summary>
/// The account mails and pages in headless Chromium (node/browser/account-pages.mjs): verification and reset done
/// as a person does them, the mails read from the real SMTP server; screenshots of each mail and page go to
/// artifacts/screenshots/accounts.
/// </summary>
public sealed class AccountPagesBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task verification_and_reset_work_in_chromium_with_mails_read_from_the_smtp_server()
    {
        using var smtp = new SmtpCatcher();
        using var server = new CrmServer(smtp.Settings(("Parse:Accounts:VerifyUserEmails", "true")));
        using var client = server.Client();
        var username = Wire.Unique("chromium");
        var email = $"{username}@example.com";
        await client.SignUpAsync(username, "first password 1", email);

        // node/browser → node → Crm.Functions.Tests → the repository.
        var repository = Path.GetFullPath(Path.Combine(Tools.NodeProject("browser"), "..", "..", ".."));
        var screenshots = Path.Combine(repository, "artifacts", "screenshots", "accounts");
        var run = await Tools.RunAsync("node", Tools.NodeProject("browser"), ["account-pages.mjs"], new Dictionary<string, string>
        {
            ["PARSE_URL"] = server.ParseUrl,
            ["PUBLIC_URL"] = SmtpCatcher.PublicServerUrl,
            ["MESSAGES_URL"] = smtp.MessagesUrl,
            ["APP_ID"] = CrmServer.AppId,
            ["USERNAME"] = username,
            ["EMAIL"] = email,
            ["SCREENSHOT_DIR"] = screenshots,
        });
        output.WriteLine(run.StdOut);
        Assert.True(run.ExitCode == 0, $"node account-pages.mjs failed: {run}");
        Assert.Contains("all checks passed", run.StdOut, StringComparison.Ordinal);
        (await server.Client().LogInAsync(username, "chosen in chromium 1")).EnsureStatus(HttpStatusCode.OK);
        (await server.Client().LogInAsync(username, "first password 1")).EnsureError(101);
        foreach (var shot in new[] { "mail-verify-email.png", "mail-password-reset.png", "page-choose-password.png", "page-password-changed.png" })
            Assert.True(File.Exists(Path.Combine(screenshots, shot)), $"missing screenshot {shot}");
    }
}
