using Crm.Functions.Tests.CrmTemplate;
using Crm.Functions.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Crm.Functions.Tests.Accounts;

/// <summary>
/// Two-factor sign-in through the official Parse JS SDK (node/sdk/mfa.mjs): enrolment with <c>user.save({authData:
/// {mfa}})</c>, <c>Parse.User.logInWithAdditionalAuth</c>, parse-server's errors, replay, a recovery code, turning it off.
/// The script computes the codes itself (RFC 6238 with node's crypto, node/sdk/totp.mjs).
/// </summary>
public sealed class TwoFactorSdkTests(ITestOutputHelper output)
{
    [Fact]
    public async Task js_sdk_enrols_logs_in_with_a_code_and_a_recovery_code_and_turns_it_off()
    {
        var folder = Tools.NodeProject("sdk");
        using var server = new CrmServer(TestSettings.Fast());
        var run = await Tools.RunAsync("node", folder, ["mfa.mjs"], new Dictionary<string, string>
        {
            ["PARSE_SERVER_URL"] = server.ParseUrl,
            ["PARSE_APP_ID"] = CrmServer.AppId,
            ["PARSE_MASTER_KEY"] = CrmServer.MasterKey,
        });
        output.WriteLine(run.StdOut);
        if (run.StdErr.Length > 0) output.WriteLine(run.StdErr);
        Assert.True(run.ExitCode == 0, $"node mfa.mjs exited with {run.ExitCode}\n--- stdout\n{run.StdOut}\n--- stderr\n{run.StdErr}");
        Assert.Contains("all checks passed", run.StdOut, StringComparison.Ordinal);
    }
}
