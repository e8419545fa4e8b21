using System.Diagnostics;
using System.Text;
using Crm.Functions.Tests.CrmTemplate;

namespace Crm.Functions.Tests.Files;

/// <summary>
/// Azurite's Blob service (npm <c>azurite</c>, installed by scripts/test.sh into Crm.Functions.Tests/node/azurite),
/// started once per test process on a free loopback port, in memory, and killed when the process ends. Each test
/// store gets its own container, so tests never see each other's files. The account is Azurite's well-known
/// development account; the app reaches it with a connection string, as with <c>UseDevelopmentStorage=true</c>.
/// </summary>
public sealed class AzuriteServer : IDisposable
{
    /// <summary>Azurite's fixed development account (public, documented by Microsoft; not a secret).</summary>
    public const string Account = "devstoreaccount1";
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly Lazy<AzuriteServer> Shared = new(() => new AzuriteServer(), LazyThreadSafetyMode.ExecutionAndPublication);

    public static AzuriteServer Instance => Shared.Value;

    private readonly Process _process;

    public string BlobEndpoint { get; }

    public string ConnectionString => $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={AccountKey};BlobEndpoint={BlobEndpoint};";

    private AzuriteServer()
    {
        var folder = Tools.NodeProject("azurite");
        var start = new ProcessStartInfo("node",
        [
            "node_modules/azurite/dist/src/blob/main.js", "--blobHost", "127.0.0.1", "--blobPort", "0", "--inMemoryPersistence",
            "--extentMemoryLimit", "1024", "--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry",
        ])
        {
            WorkingDirectory = folder,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var output = new StringBuilder();
        var ready = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        const string Listening = "successfully listens on ";
        void Line(string? line)
        {
            if (line is null) return;
            lock (output) output.AppendLine(line);
            var at = line.IndexOf(Listening, StringComparison.Ordinal);
            if (at >= 0) ready.TrySetResult(line[(at + Listening.Length)..].Trim());
        }
        _process.OutputDataReceived += (_, e) => Line(e.Data);
        _process.ErrorDataReceived += (_, e) => Line(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        if (!ready.Task.Wait(TimeSpan.FromSeconds(60)))
        {
            Dispose();
            throw new InvalidOperationException($"Azurite did not start: {output}");
        }
        BlobEndpoint = ready.Task.Result.TrimEnd('/') + "/" + Account;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Dispose();
    }

    /// <summary>A container name no other store of this run uses.</summary>
    public static string NewContainer() => "files-" + Guid.NewGuid().ToString("N")[..20];

    /// <summary>Server settings for files on this Azurite, in a container of their own.</summary>
    public Dictionary<string, string?> Settings(string? container = null) => new(StringComparer.Ordinal)
    {
        ["Parse:Files:Store"] = "blob",
        ["Parse:Files:Blob:ConnectionString"] = ConnectionString,
        ["Parse:Files:Blob:Container"] = container ?? NewContainer(),
    };

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException) { }
    }
}
