using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// An invalid setting (a master key shorter than 12 characters) crashed the start with an unhandled
/// OptionsValidationException, a stack trace and exit code 134; it must stop like a bad data file does:
/// one line naming the setting and exit code 1.
/// </summary>
public sealed class InvalidSettingsCrashTests : IDisposable
{
    private readonly string _dataFolder = Directory.CreateTempSubdirectory("crm-settings-").FullName;

    [Fact]
    public async Task a_too_short_master_key_stops_the_start_with_one_line_naming_the_setting_and_exit_code_1()
    {
        await using var server = ServerProcess.Start(_dataFolder, new Dictionary<string, string> { ["Parse__MasterKey"] = "short" });

        var exitCode = await server.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(1, exitCode);
        Assert.Contains("Parse:MasterKey", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", server.Output, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dataFolder, recursive: true); } catch (IOException) { }
    }
}
