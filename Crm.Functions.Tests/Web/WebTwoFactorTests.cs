using Crm.Functions.Tests.CrmTemplate;
using Crm.Functions.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Crm.Functions.Tests.Web;

/// <summary>
/// The web app's two-factor sign-in end to end in Chromium (node/browser/web-two-factor.mjs): turning it on from the
/// account page with the QR code's secret, the recovery codes shown once and kept nowhere in the browser, signing in
/// with a code the test computes and with a recovery code (once), turning it off, and a Managers member
/// (Parse:Accounts:MfaRequiredRoles) made to set it up while signing in.
/// </summary>
public sealed class WebTwoFactorTests(ITestOutputHelper output)
{
    [Fact]
    public async Task two_factor_sign_in_is_turned_on_used_and_turned_off_in_chromium()
    {
        using var server = new CrmServer(TestSettings.Fast(("Crm:ApplyTemplate", "true"), ("Parse:Accounts:MfaRequiredRoles", "Managers")));
        var repository = Path.GetFullPath(Path.Combine(Tools.NodeProject("browser"), "..", "..", ".."));
        Assert.True(File.Exists(Path.Combine(repository, "web", "dist", "index.html")), "web/dist is missing: building Crm.Functions builds it (npm run build in web/).");
        var screenshots = Path.Combine(repository, "artifacts", "screenshots", "web-two-factor");
        var run = await Tools.RunAsync("node", Tools.NodeProject("browser"), ["web-two-factor.mjs"], new Dictionary<string, string>
        {
            ["BASE_URL"] = server.BaseUrl,
            ["PARSE_URL"] = server.ParseUrl,
            ["APP_ID"] = CrmServer.AppId,
            ["MASTER_KEY"] = CrmServer.MasterKey,
            ["SCREENSHOT_DIR"] = screenshots,
        });
        output.WriteLine(run.StdOut);
        if (run.StdErr.Length > 0) output.WriteLine(run.StdErr);
        Assert.True(run.ExitCode == 0, $"node web-two-factor.mjs failed: {run}");
        Assert.Contains("all checks passed", run.StdOut, StringComparison.Ordinal);
        foreach (var shot in new[] { "two-factor-recovery-codes.png", "two-factor-sign-in.png" })
            Assert.True(File.Exists(Path.Combine(screenshots, shot)), $"missing screenshot {shot}");
    }
}
