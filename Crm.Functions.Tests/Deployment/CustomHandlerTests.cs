using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Deployment;

/// <summary>
/// The published executable started the way the Functions host starts a custom handler: from the
/// package's app/ folder, in Production, told its port through FUNCTIONS_CUSTOMHANDLER_PORT, and
/// called with requests as the host forwards them (path, method, headers and body unchanged).
/// </summary>
[Collection(PackageTestGroup.Name)]
public sealed class CustomHandlerTests(PackageFixture package)
{
    private const string MasterKey = "handler-test-master-key-0123456789";

    [Fact]
    public async Task published_handler_serves_forwarded_parse_requests_on_the_host_given_port()
    {
        // Requests arrive from the host on loopback carrying the client's address in X-Forwarded-For; the
        // operator allows the master key from the client's range, as in Azure.
        await using var handler = StartHandler(package.Extracted, new() { ["Parse__MasterKey"] = MasterKey, ["Parse__MasterKeyIps__0"] = "203.0.113.0/24" });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{handler.Port}/") };
        await handler.WaitForHealthAsync(TimeSpan.FromMinutes(2));

        using var create = Request(HttpMethod.Post, "parse/classes/Thing", """{"title":"forwarded","amount":3}""", "application/json");
        create.Headers.Add("X-Parse-Master-Key", MasterKey);
        using var created = await http.SendAsync(create);
        var createdBody = await created.Content.ReadAsStringAsync();
        Assert.True(created.StatusCode == HttpStatusCode.Created, createdBody);
        var id = JsonNode.Parse(createdBody)!["objectId"]!.GetValue<string>();

        using var get = Request(HttpMethod.Get, $"parse/classes/Thing/{id}", null, null);
        get.Headers.Add("X-Parse-Master-Key", MasterKey);
        using var fetched = await http.SendAsync(get);
        var fetchedBody = JsonNode.Parse(await fetched.Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.OK, fetched.StatusCode);
        Assert.Equal("forwarded", fetchedBody["title"]!.GetValue<string>());
        Assert.Equal(3, fetchedBody["amount"]!.GetValue<int>());

        // The JS SDK: a text/plain POST whose JSON body carries the method and the keys.
        var envelope = new JsonObject
        {
            ["_method"] = "GET",
            ["_ApplicationId"] = "crm",
            ["_MasterKey"] = MasterKey,
            ["where"] = new JsonObject { ["title"] = "forwarded" },
        }.ToJsonString();
        using var query = Request(HttpMethod.Post, "parse/classes/Thing", envelope, "text/plain", appId: false);
        using var queried = await http.SendAsync(query);
        var results = JsonNode.Parse(await queried.Content.ReadAsStringAsync())!["results"]!.AsArray();
        Assert.Equal(HttpStatusCode.OK, queried.StatusCode);
        Assert.Equal(id, Assert.Single(results)!["objectId"]!.GetValue<string>());

        // The same key from a client outside the allowed ranges is refused, though the socket is loopback.
        using var outside = Request(HttpMethod.Get, $"parse/classes/Thing/{id}", null, null);
        outside.Headers.Add("X-Parse-Master-Key", MasterKey);
        outside.Headers.Remove("X-Forwarded-For");
        outside.Headers.TryAddWithoutValidation("X-Forwarded-For", "198.51.100.9");
        using var refused = await http.SendAsync(outside);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    [Fact]
    public async Task published_handler_answers_the_browsers_negotiate_preflight_with_credentials()
    {
        // What the SignalR browser client sends before POST /negotiate from the web app's origin (credentials
        // included). In Azure the platform's CORS answers it (infra sets supportCredentials); the handler gives the
        // same answer where it is reached directly (func start, a container).
        const string Origin = "https://stapp-crm.azurestaticapps.net";
        await using var handler = StartHandler(package.Extracted, new() { ["Parse__MasterKey"] = MasterKey, ["Parse__Cors__AllowedOrigins__0"] = Origin });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{handler.Port}/") };
        await handler.WaitForHealthAsync(TimeSpan.FromMinutes(2));

        using var preflight = new HttpRequestMessage(HttpMethod.Options, "negotiate?negotiateVersion=1");
        preflight.Headers.Add("Origin", Origin);
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "x-requested-with,x-signalr-user-agent,authorization");
        using var answer = await http.SendAsync(preflight);
        Assert.True(answer.IsSuccessStatusCode, $"preflight answered {(int)answer.StatusCode}");
        Assert.Equal(Origin, Assert.Single(answer.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Equal("true", Assert.Single(answer.Headers.GetValues("Access-Control-Allow-Credentials")));
        var allowedHeaders = string.Join(",", answer.Headers.GetValues("Access-Control-Allow-Headers")).ToLowerInvariant();
        Assert.Contains("x-signalr-user-agent", allowedHeaders, StringComparison.Ordinal);
        Assert.Contains("authorization", allowedHeaders, StringComparison.Ordinal);

        // Another origin gets no CORS grant.
        using var foreign = new HttpRequestMessage(HttpMethod.Options, "negotiate?negotiateVersion=1");
        foreign.Headers.Add("Origin", "https://evil.example");
        foreign.Headers.Add("Access-Control-Request-Method", "POST");
        using var refused = await http.SendAsync(foreign);
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task published_handler_without_master_key_in_production_exits_naming_the_setting()
    {
        await using var handler = StartHandler(package.Extracted, new() { ["Parse__MasterKey"] = null });
        var exitCode = await handler.WaitForExitAsync(TimeSpan.FromMinutes(2));
        Assert.NotEqual(0, exitCode);
        Assert.Contains("Parse__MasterKey", handler.Output, StringComparison.Ordinal);
    }

    /// <summary>A request shaped like one the host forwards from the Azure front end.</summary>
    private static HttpRequestMessage Request(HttpMethod method, string path, string? body, string? contentType, bool appId = true)
    {
        var request = new HttpRequestMessage(method, path);
        if (appId) request.Headers.Add("X-Parse-Application-Id", "crm");
        request.Headers.TryAddWithoutValidation("X-Forwarded-Proto", "https");
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", "203.0.113.7:50123");
        request.Headers.TryAddWithoutValidation("X-ARR-SSL", "2048|256|CN=test|CN=test");
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType!);
        }
        return request;
    }

    /// <summary>The handler executable started as the Functions host starts it: its port in FUNCTIONS_CUSTOMHANDLER_PORT, in Production.</summary>
    private static ServerProcess StartHandler(string packageRoot, Dictionary<string, string?> settings)
    {
        var port = ServerProcess.FreePort();
        var dataFolder = Path.Combine(Path.GetTempPath(), "crm-handler-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataFolder);
        // host.json: workingDirectory "app".
        var start = new ProcessStartInfo(Path.Combine(packageRoot, "app", "Crm.Functions")) { WorkingDirectory = Path.Combine(packageRoot, "app") };
        // Only what the host would give: nothing inherited from the test run's own settings.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("Parse__", StringComparison.Ordinal) || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || k.StartsWith("DOTNET_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(key);
        start.Environment["FUNCTIONS_CUSTOMHANDLER_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["FUNCTIONS_WORKER_RUNTIME"] = "custom";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Parse__DataFolder"] = dataFolder;
        foreach (var (key, value) in settings)
        {
            if (value is null) start.Environment.Remove(key);
            else start.Environment[key] = value;
        }
        return ServerProcess.Launch(start, port, ownedFolder: dataFolder);
    }
}
