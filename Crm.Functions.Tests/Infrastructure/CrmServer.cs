using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Storage;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Crm.Functions.Tests.Infrastructure;

/// <summary>
/// The real app on real Kestrel (loopback, a free port), over a fresh SQLite file in its own folder — or, when
/// the environment variable CRM_TEST_STORE is "cosmos", over a fresh database on the local Cosmos DB API server.
/// Tests talk to it only over HTTP. Extra settings (e.g. limits) can be passed per server.
/// </summary>
public sealed class CrmServer : WebApplicationFactory<Program>
{
    public const string AppId = "crm";
    public const string MasterKey = "test-master-key-0123456789";

    private readonly Dictionary<string, string?> _settings;
    private readonly Action<IServiceCollection>? _services;

    /// <param name="waitUntilReady">
    /// The app listens before it has started (store, schema, template); by default the constructor returns once
    /// <c>/health</c> says it is ready, so tests meet a started server.
    /// </param>
    public CrmServer(IDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null, bool waitUntilReady = true)
    {
        _services = services;
        DataFolder = Path.Combine(Path.GetTempPath(), "crm-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(DataFolder);
        _settings = new Dictionary<string, string?>(StringComparer.Ordinal);
        var folder = settings?.TryGetValue("Parse:DataFolder", out var given) == true && given is not null ? given : DataFolder;
        foreach (var (key, value) in StoreSettings(folder)) _settings[key] = value;
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) _settings[key] = value;
        // No port here: given one, the factory rewrites the address list while the app (which starts itself) may
        // already be binding, and throws when the bind wins. The address comes from the app's "urls" setting
        // (ConfigureWebHost: loopback, port 0), and the factory reads the bound port back.
        UseKestrel();
        StartServer();
        BaseUrl = ClientOptions.BaseAddress.ToString().TrimEnd('/');
        if (waitUntilReady) WaitUntilReady();
    }

    private void WaitUntilReady()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            using var response = http.GetAsync(ParseUrl + "/health").GetAwaiter().GetResult();
            if (response.StatusCode == HttpStatusCode.OK) return;
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || DateTime.UtcNow > deadline)
                throw new InvalidOperationException($"The server did not become ready: /health answered {(int)response.StatusCode}.");
            Thread.Sleep(20);
        }
    }

    public string DataFolder { get; }

    /// <summary>The store under test, from CRM_TEST_STORE: "sqlite" (default) or "cosmos".</summary>
    public static string StoreKind => Environment.GetEnvironmentVariable("CRM_TEST_STORE") is { Length: > 0 } kind ? kind : "sqlite";

    public static bool UsesCosmos => StoreKind == "cosmos";

    /// <summary>The Cosmos database of this server, or null on SQLite.</summary>
    public string? CosmosDatabase => _settings.GetValueOrDefault("Parse:Cosmos:Database");

    /// <summary>
    /// The store settings for a data folder. On Cosmos the database is named after the folder, so that servers
    /// and CLI runs given the same data folder share one store, as they share the SQLite file of that folder.
    /// </summary>
    public static Dictionary<string, string?> StoreSettings(string dataFolder)
    {
        if (!UsesCosmos) return new(StringComparer.Ordinal);
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Path.GetFullPath(dataFolder))));
        return CosmosTestServer.Instance.Settings("crm-" + hash[..32]);
    }

    /// <summary>http://127.0.0.1:port</summary>
    public string BaseUrl { get; }

    public string ParseUrl => BaseUrl + "/parse";

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("urls", "http://127.0.0.1:0");
        builder.UseSetting("Parse:DataFolder", DataFolder);
        builder.UseSetting("Parse:MasterKey", MasterKey);
        builder.UseSetting("Parse:AppId", AppId);
        // The CRM template is opt-in here: most suites define their own classes (the SDK test creates Deal itself).
        builder.UseSetting("Crm:ApplyTemplate", "false");
        foreach (var (key, value) in _settings) builder.UseSetting(key, value);
        if (_services is not null) builder.ConfigureTestServices(_services);
        // TryAdd: hooks a test registers itself (e.g. a handler injecting faults) win whichever callback runs first.
        if (UsesCosmos) builder.ConfigureServices(services => services.TryAddSingleton(CosmosTestServer.Instance.Hooks));
    }

    /// <summary>A Parse client with the application id set; add a session or master key per call.</summary>
    public ParseClient Client() => new(new HttpClient { BaseAddress = new Uri(ParseUrl + "/") });

    /// <summary>A newly signed-up user (named from the prefix) with its own client holding its session.</summary>
    public async Task<(ParseClient Client, string UserId, string Token)> UserAsync(string prefix = "user")
    {
        var client = Client();
        var (id, token) = await client.SignUpAsync(Wire.Unique(prefix));
        return (client, id, token);
    }

    /// <summary>Creates a publicly readable role holding these users, with the master key; returns its id.</summary>
    public async Task<string> CreateRoleAsync(string name, params string[] userIds)
    {
        using var master = Client().AsMaster();
        var body = new JsonObject { ["name"] = name, ["ACL"] = new JsonObject { ["*"] = new JsonObject { ["read"] = true } } };
        if (userIds.Length > 0) body["users"] = Wire.AddRelation("_User", userIds);
        return (await master.PostAsync("roles", body)).EnsureStatus(HttpStatusCode.Created).Json!["objectId"]!.GetValue<string>();
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (!disposing) return;
        try { Directory.Delete(DataFolder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>One server shared by the tests of a class (each test makes its own class names / users).</summary>
public sealed class CrmServerFixture : IDisposable
{
    public CrmServer Server { get; } = new();
    public void Dispose() => Server.Dispose();
}
