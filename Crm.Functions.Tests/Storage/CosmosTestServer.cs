using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Crm.Functions.Storage.Cosmos;
using Microsoft.Azure.Cosmos;

namespace Crm.Functions.Tests.Storage;

/// <summary>
/// The Cosmos DB API server (<c>@vercel/cosmosdb-server</c>, installed by scripts/test.sh into
/// Crm.Functions.Tests/node/cosmos), started once per test process on a free loopback port with TLS under a
/// certificate generated now with openssl, and killed when the process ends. Each store gets its own database,
/// so tests never see each other's data.
/// </summary>
public sealed class CosmosTestServer : IDisposable
{
    /// <summary>The server checks no signatures; any well-formed key will do.</summary>
    public const string Key = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU9DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==";

    private static readonly Lazy<CosmosTestServer> Shared = new(() => new CosmosTestServer(), LazyThreadSafetyMode.ExecutionAndPublication);

    public static CosmosTestServer Instance => Shared.Value;

    private readonly Process _process;
    private readonly string _folder;
    private readonly X509Certificate2 _certificate;

    public string Endpoint { get; }

    private CosmosTestServer()
    {
        // The SDK would otherwise probe the Azure instance-metadata endpoint and wait for its timeout.
        Environment.SetEnvironmentVariable("COSMOS_DISABLE_IMDS_ACCESS", "true");
        var nodeDir = FindNodeDir();
        _folder = Path.Combine(Path.GetTempPath(), "crm-cosmos-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_folder);
        var cert = Path.Combine(_folder, "cert.pem");
        var key = Path.Combine(_folder, "key.pem");
        Run("openssl", $"req -x509 -newkey rsa:2048 -nodes -keyout \"{key}\" -out \"{cert}\" -days 2 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost");
        _certificate = X509CertificateLoader.LoadCertificateFromFile(cert);

        var start = new ProcessStartInfo("node", ["server.js", cert, key])
        {
            WorkingDirectory = nodeDir,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var errors = new StringBuilder();
        var ready = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        _process.ErrorDataReceived += (_, e) => { lock (errors) errors.AppendLine(e.Data); };
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.StartsWith("listening ", StringComparison.Ordinal) == true) ready.TrySetResult(e.Data["listening ".Length..].Trim());
        };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        if (!ready.Task.Wait(TimeSpan.FromSeconds(30)))
        {
            Kill();
            throw new InvalidOperationException($"The Cosmos DB API server did not start: {errors}");
        }
        Endpoint = $"https://127.0.0.1:{ready.Task.Result}/";
        WaitUntilAnswering();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Dispose();
    }

    private static string FindNodeDir()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "Crm.Functions.Tests", "node", "cosmos");
            if (Directory.Exists(candidate))
            {
                if (!Directory.Exists(Path.Combine(candidate, "node_modules", "@vercel", "cosmosdb-server")))
                    throw new InvalidOperationException($"The Cosmos DB API server is not installed: run scripts/test.sh (or npm ci in {candidate}).");
                return candidate;
            }
        }
        throw new InvalidOperationException("Crm.Functions.Tests/node/cosmos not found above " + AppContext.BaseDirectory);
    }

    private static void Run(string file, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardError = true, RedirectStandardOutput = true })
            ?? throw new InvalidOperationException($"{file} did not start");
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{file} failed: {stderr.Result}");
    }

    private void WaitUntilAnswering()
    {
        using var http = new HttpClient(CreateHandler());
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                using var response = http.GetAsync(Endpoint).GetAwaiter().GetResult();
                if (response.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline) { }
            if (DateTime.UtcNow >= deadline) throw new InvalidOperationException("The Cosmos DB API server does not answer.");
            Thread.Sleep(100);
        }
    }

    /// <summary>Trusts exactly the certificate generated for this run — not any certificate.</summary>
    private SocketsHttpHandler CreateHandler() => new()
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        MaxConnectionsPerServer = 64,
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                errors == SslPolicyErrors.None || (certificate is not null && certificate.GetCertHashString() == _certificate.GetCertHashString()),
        },
    };

    /// <summary>The client options the local server needs: gateway mode, this endpoint only, the certificate, the query-plan answer.</summary>
    public void Configure(CosmosClientOptions options) => Configure(options, null);

    /// <param name="outer">an extra handler in front of the others (e.g. one that injects failures)</param>
    public void Configure(CosmosClientOptions options, DelegatingHandler? outer)
    {
        options.ConnectionMode = ConnectionMode.Gateway;
        options.LimitToEndpoint = true;
        options.HttpClientFactory = () =>
        {
            HttpMessageHandler handler = new QueryPlanHandler { InnerHandler = CreateHandler() };
            if (outer is not null)
            {
                outer.InnerHandler = handler;
                handler = outer;
            }
            return new HttpClient(handler, disposeHandler: true);
        };
    }

    /// <summary>The local server drops a container's items when the container is replaced, so indexing policies are set only at creation.</summary>
    internal CosmosClientHooks Hooks => new(Configure, replaceIndexingPolicy: false);

    /// <summary>Settings for a server (CrmServer) using a fresh database on this Cosmos server.</summary>
    public Dictionary<string, string?> Settings(string database) => new(StringComparer.Ordinal)
    {
        ["Parse:Store"] = "cosmos",
        ["Parse:Cosmos:Endpoint"] = Endpoint,
        ["Parse:Cosmos:Key"] = Key,
        ["Parse:Cosmos:Database"] = database,
        ["Parse:Cosmos:ConnectionMode"] = "Gateway",
    };

    public CosmosClient CreateClient(DelegatingHandler? outer = null)
    {
        var options = new CosmosClientOptions
        {
            UseSystemTextJsonSerializerWithOptions = new System.Text.Json.JsonSerializerOptions(),
            MaxRetryAttemptsOnRateLimitedRequests = 2,
        };
        Configure(options, outer);
        return new CosmosClient(Endpoint, Key, options);
    }

    internal CosmosObjectStore CreateStore(string database, int maxSubqueryResults = 1000, TimeSpan? reservationGrace = null, DelegatingHandler? outer = null) =>
        new(CreateClient(outer), database, maxSubqueryResults, reservationGrace ?? TimeSpan.FromMinutes(1), replaceIndexingPolicy: false);

    private void Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException) { }
    }

    public void Dispose()
    {
        Kill();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>
/// On Linux the .NET SDK asks the gateway for a query plan (header <c>x-ms-cosmos-is-query-plan-request</c>),
/// which the local API server does not implement. This test-only handler answers with a pass-through plan (one
/// range covering every partition key, no rewrite): the server then evaluates ORDER BY, TOP and COUNT itself,
/// which is exact because it holds the whole container in one "partition". Against Azure the real gateway
/// answers and the SDK merges per-partition results.
/// </summary>
internal sealed class QueryPlanHandler : DelegatingHandler
{
    private const string PassThroughPlan = """
        {"partitionedQueryExecutionInfoVersion":2,"queryInfo":{"distinctType":"None","top":null,"offset":null,"limit":null,
        "orderBy":[],"orderByExpressions":[],"groupByExpressions":[],"groupByAliases":[],"aggregates":[],
        "groupByAliasToAggregateType":{},"rewrittenQuery":"","hasSelectValue":false,"dCountInfo":null,"hasNonStreamingOrderBy":false},
        "queryRanges":[{"min":"","max":"FF","isMinInclusive":true,"isMaxInclusive":false}]}
        """;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Headers.TryGetValues("x-ms-cosmos-is-query-plan-request", out var values) && values.Any(v => v.Equals("true", StringComparison.OrdinalIgnoreCase)))
        {
            var response = new HttpResponseMessage(HttpStatusCode.OK)
            {
                RequestMessage = request,
                Content = new StringContent(PassThroughPlan, Encoding.UTF8, "application/json"),
            };
            response.Headers.Add("x-ms-activity-id", Guid.NewGuid().ToString());
            response.Headers.Add("x-ms-request-charge", "0");
            return response;
        }
        return await base.SendAsync(request, cancellationToken);
    }
}
