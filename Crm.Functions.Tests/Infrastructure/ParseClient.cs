using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Crm.Functions.Tests.Infrastructure;

/// <summary>A raw HTTP client speaking the Parse REST protocol: it adds headers and parses JSON, nothing else.</summary>
public sealed class ParseClient(HttpClient http) : IDisposable
{
    public HttpClient Http => http;
    public string? SessionToken { get; set; }
    public bool UseMasterKey { get; set; }

    public ParseClient AsMaster()
    {
        UseMasterKey = true;
        return this;
    }

    public ParseClient WithSession(string? token)
    {
        SessionToken = token;
        return this;
    }

    public Task<ParseResponse> SendAsync(HttpMethod method, string path, object? body = null, IDictionary<string, string>? headers = null, bool appId = true)
    {
        var text = body switch
        {
            null => null,
            string s => s,
            JsonNode n => n.ToJsonString(),
            _ => System.Text.Json.JsonSerializer.Serialize(body),
        };
        return SendTextAsync(method, path, text, "application/json", headers, appId);
    }

    /// <summary>Sends a body exactly as given, with any content type (the JS SDK posts text/plain).</summary>
    public async Task<ParseResponse> SendTextAsync(HttpMethod method, string path, string? text, string contentType = "application/json",
        IDictionary<string, string>? headers = null, bool appId = true)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (appId) request.Headers.Add("X-Parse-Application-Id", CrmServer.AppId);
        if (UseMasterKey) request.Headers.Add("X-Parse-Master-Key", CrmServer.MasterKey);
        if (SessionToken is not null) request.Headers.Add("X-Parse-Session-Token", SessionToken);
        foreach (var (k, v) in headers ?? new Dictionary<string, string>()) request.Headers.TryAddWithoutValidation(k, v);
        if (text is not null)
        {
            request.Content = new StringContent(text, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }
        using var response = await http.SendAsync(request);
        var raw = await response.Content.ReadAsStringAsync();
        JsonNode? json = null;
        try { json = raw.Length == 0 ? null : JsonNode.Parse(raw); } catch (System.Text.Json.JsonException) { }
        var responseHeaders = response.Headers.Concat(response.Content.Headers)
            .ToDictionary(h => h.Key, h => string.Join(", ", h.Value), StringComparer.OrdinalIgnoreCase);
        return new ParseResponse(response.StatusCode, json, raw, response.Headers.Location, response.Content.Headers.ContentType, responseHeaders);
    }

    public Task<ParseResponse> GetAsync(string path) => SendAsync(HttpMethod.Get, path);
    public Task<ParseResponse> PostAsync(string path, object? body) => SendAsync(HttpMethod.Post, path, body ?? new JsonObject());
    public Task<ParseResponse> PutAsync(string path, object body) => SendAsync(HttpMethod.Put, path, body);
    public Task<ParseResponse> DeleteAsync(string path) => SendAsync(HttpMethod.Delete, path);

    /// <summary>GET /classes/{className} with query parameters JSON-encoded as Parse SDKs send them.</summary>
    public Task<ParseResponse> QueryAsync(string className, object? where = null, string? extra = null)
    {
        var query = new StringBuilder();
        if (where is not null)
            query.Append("where=").Append(Uri.EscapeDataString(where is JsonNode n ? n.ToJsonString() : System.Text.Json.JsonSerializer.Serialize(where)));
        if (extra is not null) query.Append(query.Length > 0 ? "&" : "").Append(extra);
        return GetAsync($"classes/{className}" + (query.Length > 0 ? "?" + query : ""));
    }

    /// <summary>Creates an object and returns its id (asserting 201).</summary>
    public async Task<string> CreateAsync(string className, object body)
    {
        var response = await PostAsync($"classes/{className}", body);
        response.EnsureStatus(HttpStatusCode.Created);
        return response.Json!["objectId"]!.GetValue<string>();
    }

    /// <summary>The number of objects of a class this client can see (count=1, limit=0).</summary>
    public async Task<long> CountAsync(string className, object? where = null)
    {
        var response = await QueryAsync(className, where, "count=1&limit=0");
        response.EnsureStatus(HttpStatusCode.OK);
        return response.Json!["count"]!.GetValue<long>();
    }

    /// <summary>The objectIds of a query's results, in order.</summary>
    public async Task<List<string>> IdsAsync(string className, object? where = null, string? extra = null)
    {
        var response = await QueryAsync(className, where, extra);
        response.EnsureStatus(HttpStatusCode.OK);
        return response.Results.Select(r => r!["objectId"]!.GetValue<string>()).ToList();
    }

    /// <summary>Signs a new user up and keeps its session token on this client.</summary>
    public async Task<(string UserId, string Token)> SignUpAsync(string username, string password = "correct horse battery", string? email = null)
    {
        var response = await PostAsync("users", new JsonObject { ["username"] = username, ["password"] = password, ["email"] = email ?? $"{username}@example.com" });
        response.EnsureStatus(HttpStatusCode.Created);
        SessionToken = response.Json!["sessionToken"]!.GetValue<string>();
        return (response.Json["objectId"]!.GetValue<string>(), SessionToken);
    }

    /// <summary>POST /login with a JSON body; keeps the new session token on this client when it succeeds.</summary>
    public async Task<ParseResponse> LogInAsync(string username, string password)
    {
        var response = await PostAsync("login", new JsonObject { ["username"] = username, ["password"] = password });
        if (response.Status == HttpStatusCode.OK) SessionToken = response.Json!["sessionToken"]!.GetValue<string>();
        return response;
    }

    /// <summary>POST /batch with the given sub-requests (method, path relative to the mount, optional body).</summary>
    public Task<ParseResponse> BatchAsync(IEnumerable<(string Method, string Path, JsonNode? Body)> requests)
    {
        var array = new JsonArray();
        foreach (var (method, path, body) in requests)
        {
            var item = new JsonObject { ["method"] = method, ["path"] = "/parse/" + path.TrimStart('/') };
            if (body is not null) item["body"] = body.DeepClone();
            array.Add(item);
        }
        return PostAsync("batch", new JsonObject { ["requests"] = array });
    }

    public void Dispose() => http.Dispose();
}

/// <summary>Settings shared by security tests.</summary>
public static class TestSettings
{
    /// <summary>
    /// A server for tests that create many users: bcrypt cost 4 (the minimum) and no login/sign-up rate
    /// limit, plus any extra settings.
    /// </summary>
    public static Dictionary<string, string?> Fast(params (string Key, string? Value)[] extra)
    {
        var settings = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["Parse:Accounts:BcryptCost"] = "4",
            ["Parse:Accounts:AuthRequestsPerMinute"] = "0",
        };
        foreach (var (key, value) in extra) settings[key] = value;
        return settings;
    }
}

/// <summary>A clock the test can move forward, so expiry rules are tested without waiting.</summary>
public sealed class AdjustableTime : TimeProvider
{
    public TimeSpan Offset { get; set; }
    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset;
}

public sealed record ParseResponse(HttpStatusCode Status, JsonNode? Json, string Raw, Uri? Location, MediaTypeHeaderValue? ContentType,
    IReadOnlyDictionary<string, string>? Headers = null)
{
    public string? Header(string name) => Headers is not null && Headers.TryGetValue(name, out var value) ? value : null;

    public int? Code => Json?["code"]?.GetValue<int>();
    public JsonArray Results => Json?["results"]?.AsArray() ?? throw new InvalidOperationException($"No results in {Raw}");

    public ParseResponse EnsureStatus(HttpStatusCode expected)
    {
        if (Status != expected) throw new Xunit.Sdk.XunitException($"Expected HTTP {(int)expected} but got {(int)Status}: {Raw}");
        return this;
    }

    /// <summary>Asserts a Parse error: the HTTP status Parse uses for the code, and the code itself.</summary>
    public ParseResponse EnsureError(int code)
    {
        var status = code switch { 101 => 404, 1 => 500, _ => 400 };
        if ((int)Status != status || Code != code)
            throw new Xunit.Sdk.XunitException($"Expected Parse error {code} (HTTP {status}) but got HTTP {(int)Status}: {Raw}");
        Assert.False(string.IsNullOrEmpty(Json?["error"]?.GetValue<string>()), "error message missing");
        return this;
    }
}

/// <summary>One fast server (see <see cref="TestSettings.Fast"/>) shared by the tests of a class.</summary>
public sealed class FastServerFixture : IDisposable
{
    public CrmServer Server { get; } = new(TestSettings.Fast());
    public void Dispose() => Server.Dispose();
}
