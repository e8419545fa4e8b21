using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Crm.Functions.Tests.Infrastructure;

/// <summary>
/// The real server as its own process on a loopback port, with its output kept for assertions, so it can be
/// killed (SIGKILL) or stopped (SIGTERM) like in production: <see cref="Start"/> runs <c>dotnet Crm.Functions.dll</c>
/// from the test's build output; <see cref="Launch"/> runs any start info (e.g. the published handler).
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    public const string MasterKey = "crash-test-master-key-0123";
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly string? _ownedFolder;

    private ServerProcess(Process process, int port, string? ownedFolder)
    {
        _process = process;
        _ownedFolder = ownedFolder;
        Port = port;
        BaseUrl = $"http://127.0.0.1:{port}";
    }

    public int Port { get; }
    public string BaseUrl { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    public static ServerProcess Start(string dataFolder, IDictionary<string, string>? settings = null)
    {
        var port = FreePort();
        var app = AppContext.BaseDirectory;
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = app,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(app, "Crm.Functions.dll"));
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port}");
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("Parse__", StringComparison.Ordinal) || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(key);
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Parse__MasterKey"] = MasterKey;
        start.Environment["Parse__DataFolder"] = dataFolder;
        start.Environment["Parse__Accounts__BcryptCost"] = "4";
        start.Environment["Parse__Accounts__AuthRequestsPerMinute"] = "0";
        start.Environment["Crm__ApplyTemplate"] = "false";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>()) start.Environment[key] = value;
        return Launch(start, port);
    }

    /// <summary>Starts a prepared process listening on <paramref name="port"/>; <paramref name="ownedFolder"/> is deleted on dispose.</summary>
    public static ServerProcess Launch(ProcessStartInfo start, int port, string? ownedFolder = null)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        var process = new Process { StartInfo = start };
        var server = new ServerProcess(process, port, ownedFolder);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    public HttpClient Client(TimeSpan? timeout = null)
    {
        var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 16 }) { BaseAddress = new Uri(BaseUrl + "/parse/"), Timeout = timeout ?? TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Add("X-Parse-Application-Id", "crm");
        http.DefaultRequestHeaders.Add("X-Parse-Master-Key", MasterKey);
        return http;
    }

    public async Task WaitForHealthAsync(TimeSpan? bound = null)
    {
        using var http = new HttpClient { BaseAddress = new Uri(BaseUrl + "/parse/"), Timeout = TimeSpan.FromSeconds(5) };
        // A bound on start-up, not a timing assertion: fail with the server's output instead of hanging.
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < (bound ?? TimeSpan.FromSeconds(90)))
        {
            if (_process.HasExited) throw new InvalidOperationException($"The server exited with code {_process.ExitCode}:\n{Output}");
            try
            {
                using var response = await http.GetAsync("health");
                if (response.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(100);
        }
        throw new TimeoutException($"The server did not answer /parse/health:\n{Output}");
    }

    /// <summary>SIGKILL: no shutdown code runs, as when the machine's OOM killer or a crash ends the process.</summary>
    public async Task KillAsync()
    {
        if (_process.HasExited) return;
        _process.Kill(entireProcessTree: false);
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM: what a container runtime or systemd sends to stop the server.</summary>
    public void Terminate()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) }, UseShellExecute = false })!;
        kill.WaitForExit();
    }

    public async Task<int> WaitForExitAsync(TimeSpan bound)
    {
        using var cts = new CancellationTokenSource(bound);
        try { await _process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { throw new TimeoutException($"The server kept running:\n{Output}"); }
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        if (_ownedFolder is null) return;
        try { Directory.Delete(_ownedFolder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
