using System.IO.Compression;

namespace Crm.Functions.Tests.Deployment;

/// <summary>
/// Runs scripts/publish.sh once per test run (a self-contained publish is the slow part) into a temp
/// folder, and extracts the zip as the Functions host would see it.
/// </summary>
public sealed class PackageFixture : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "crm-package-tests", Guid.NewGuid().ToString("N"));

    public string ZipPath => Path.Combine(_root, "crm-functions.zip");

    /// <summary>The zip's content, extracted: host.json, the function folders and app/.</summary>
    public string Extracted => Path.Combine(_root, "extracted");

    public string PublishOutput { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        // A clean MSBuild environment: the test host may inherit variables from the outer `dotnet test` build.
        var environment = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase))
            .ToDictionary(k => k, _ => (string?)null);
        // The package is compiled ReadyToRun (crossgen of every assembly), which takes minutes on a busy 2-core machine.
        var (exitCode, output) = await Command.RunAsync(
            "bash", [DeploymentFiles.InRepo("scripts", "publish.sh"), _root], DeploymentFiles.RepositoryRoot, TimeSpan.FromMinutes(15), environment);
        PublishOutput = output;
        if (exitCode != 0) throw new InvalidOperationException($"scripts/publish.sh failed with exit code {exitCode}:\n{output}");
        ZipFile.ExtractToDirectory(ZipPath, Extracted);
    }

    public Task DisposeAsync()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        return Task.CompletedTask;
    }
}

[CollectionDefinition(Name)]
public sealed class PackageTestGroup : ICollectionFixture<PackageFixture>
{
    public const string Name = "deployment package";
}
