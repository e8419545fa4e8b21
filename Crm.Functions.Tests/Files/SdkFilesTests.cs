using Crm.Functions.Tests.CrmTemplate;
using Crm.Functions.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Crm.Functions.Tests.Files;

/// <summary>
/// The official Parse JS SDK (node/sdk/files.mjs) saving, attaching, reading and downloading files, on each file store:
/// ranges, permissions, limits, the XSS shapes and, on a server that signs file URLs, their expiry.
/// </summary>
public sealed class SdkFilesTests(ITestOutputHelper output)
{
    private const int MaxUpload = 1024 * 1024;

    public static TheoryData<string, bool> Stores => new() { { "local", false }, { "local", true }, { "blob", false }, { "blob", true } };

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task js_sdk_saves_attaches_reads_and_downloads_files(string store, bool signedUrls)
    {
        var settings = TestSettings.Fast(("Parse:Files:MaxUploadBytes", MaxUpload.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        if (store == "blob") foreach (var (key, value) in AzuriteServer.Instance.Settings()) settings[key] = value;
        if (signedUrls)
        {
            settings["Parse:Files:SignedUrls"] = "true";
            settings["Parse:Files:SignedUrlLifetimeSeconds"] = "3";
        }
        using var server = new CrmServer(settings);
        var environment = new Dictionary<string, string>
        {
            ["PARSE_SERVER_URL"] = server.ParseUrl,
            ["PARSE_APP_ID"] = CrmServer.AppId,
            ["PARSE_MASTER_KEY"] = CrmServer.MasterKey,
            ["PARSE_MAX_UPLOAD_BYTES"] = MaxUpload.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (signedUrls) environment["PARSE_SIGNED_LIFETIME"] = "3";
        environment["PARSE_FILES_STORE"] = store;
        var run = await Tools.RunAsync("node", Tools.NodeProject("sdk"), ["files.mjs"], environment);
        output.WriteLine(run.StdOut);
        if (run.StdErr.Length > 0) output.WriteLine(run.StdErr);
        Assert.True(run.ExitCode == 0, $"node files.mjs exited with {run.ExitCode}\n--- stdout\n{run.StdOut}\n--- stderr\n{run.StdErr}");
        Assert.Contains("all checks passed", run.StdOut, StringComparison.Ordinal);
    }
}
