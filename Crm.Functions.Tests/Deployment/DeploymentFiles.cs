using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;

namespace Crm.Functions.Tests.Deployment;

/// <summary>Where the repository and the Bicep CLI are (written into the test assembly by the test project).</summary>
internal static class DeploymentFiles
{
    public static string RepositoryRoot { get; } = Metadata("RepositoryRoot");

    /// <summary>The Bicep CLI from the NuGet package Azure.Bicep.CommandLine.linux-x64.</summary>
    public static string BicepCli { get; } = Metadata("BicepCli");

    public static string InRepo(params string[] parts) => Path.Combine([RepositoryRoot, .. parts]);

    public static JsonNode ReadJson(string path) =>
        JsonNode.Parse(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path} is empty JSON.");

    /// <summary>Every functions/&lt;Name&gt;/function.json of the repository, by function name.</summary>
    public static IReadOnlyDictionary<string, JsonNode> FunctionDefinitions() =>
        Directory.GetDirectories(InRepo("functions"))
            .Where(d => File.Exists(Path.Combine(d, "function.json")))
            .ToDictionary(d => Path.GetFileName(d), d => ReadJson(Path.Combine(d, "function.json")), StringComparer.Ordinal);

    private static string Metadata(string key) =>
        typeof(DeploymentFiles).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().SingleOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"Assembly metadata '{key}' is missing; see Crm.Functions.Tests.csproj.");
}

/// <summary>Runs a command to completion with a deadline and returns its exit code and combined output.</summary>
internal static class Command
{
    public static async Task<(int ExitCode, string Output)> RunAsync(
        string file, IEnumerable<string> args, string workingDirectory, TimeSpan deadline, IDictionary<string, string?>? environment = null)
    {
        var start = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null) start.Environment.Remove(key);
            else start.Environment[key] = value;
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var output = new StringBuilder();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(deadline);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            output.Append(await stdout).Append(await stderr);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {deadline}.\n{output}");
        }
        output.Append(await stdout).Append(await stderr);
        return (process.ExitCode, output.ToString());
    }
}
