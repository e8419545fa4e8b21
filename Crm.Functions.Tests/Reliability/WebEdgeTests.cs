using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Triggers;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Crm.Functions.Tests.Reliability;

/// <summary>The edges a browser or an operator meets: CORS, internals kept out of answers, security headers, request ids, logs.</summary>
public sealed class WebEdgeTests
{
    [Fact]
    public async Task cors_allows_the_apps_own_origin_and_localhost_by_default_and_refuses_others()
    {
        using var server = new CrmServer();
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl + "/") };
        foreach (var origin in new[] { "http://localhost:3000", "http://127.0.0.1:5173", server.BaseUrl })
        {
            using var preflight = await SendAsync(http, HttpMethod.Options, "parse/classes/Deal", origin, preflight: true);
            Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
            Assert.Equal(origin, Header(preflight, "Access-Control-Allow-Origin"));
            Assert.Contains("X-Parse-Session-Token", Header(preflight, "Access-Control-Allow-Headers"), StringComparison.Ordinal);
            Assert.Contains("X-Parse-Application-Id", Header(preflight, "Access-Control-Allow-Headers"), StringComparison.Ordinal);
            Assert.Contains("DELETE", Header(preflight, "Access-Control-Allow-Methods"), StringComparison.Ordinal);
            using var get = await SendAsync(http, HttpMethod.Get, "parse/health", origin);
            Assert.Equal(origin, Header(get, "Access-Control-Allow-Origin"));
        }
        foreach (var origin in new[] { "https://evil.example", "http://localhost.evil.example", "https://localhost:3000", "null" })
        {
            using var preflight = await SendAsync(http, HttpMethod.Options, "parse/classes/Deal", origin, preflight: true);
            Assert.Equal(HttpStatusCode.Forbidden, preflight.StatusCode);
            Assert.Null(Header(preflight, "Access-Control-Allow-Origin"));
            Assert.Equal(119, JsonNode.Parse(await preflight.Content.ReadAsStringAsync())!["code"]!.GetValue<int>());
            using var get = await SendAsync(http, HttpMethod.Get, "parse/health", origin);
            Assert.Null(Header(get, "Access-Control-Allow-Origin"));
        }
    }

    [Fact]
    public async Task cors_allowed_origins_are_configurable_and_replace_the_default()
    {
        using var server = new CrmServer(new Dictionary<string, string?> { ["Parse:Cors:AllowedOrigins:0"] = "https://crm.example.com", ["Parse:Cors:AllowedOrigins:1"] = "http://dev.example.com:*" });
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl + "/") };
        foreach (var origin in new[] { "https://crm.example.com", "http://dev.example.com:8080" })
        {
            using var preflight = await SendAsync(http, HttpMethod.Options, "graphql", origin, preflight: true);
            Assert.Equal(origin, Header(preflight, "Access-Control-Allow-Origin"));
        }
        foreach (var origin in new[] { "http://localhost:3000", "https://crm.example.com.evil.example", "http://crm.example.com" })
        {
            using var preflight = await SendAsync(http, HttpMethod.Options, "parse/login", origin, preflight: true);
            Assert.Equal(HttpStatusCode.Forbidden, preflight.StatusCode);
            Assert.Null(Header(preflight, "Access-Control-Allow-Origin"));
        }
    }

    [Fact]
    public async Task production_answers_never_carry_stack_traces_or_internal_paths()
    {
        const string Secret = "/srv/internal/crm/secret-path.db";
        using var server = new CrmServer(new Dictionary<string, string?> { ["environment"] = "Production" });
        var triggers = server.Services.GetRequiredService<TriggerRegistry>();
        triggers.Define("boom", (_, _) => throw new InvalidOperationException($"Could not open {Secret}"));
        triggers.BeforeSave("Boom", (_, _) => throw new InvalidOperationException($"Could not open {Secret}"));
        using var master = server.Client().AsMaster();
        (await master.PostAsync("schemas/Boom", new JsonObject { ["fields"] = new JsonObject { ["name"] = new JsonObject { ["type"] = "String" } } })).EnsureStatus(HttpStatusCode.OK);

        var answers = new List<(HttpStatusCode Status, string Body)>();
        var function = await master.PostAsync("functions/boom", new JsonObject());
        answers.Add((function.Status, function.Raw));
        var create = await master.PostAsync("classes/Boom", new JsonObject { ["name"] = "x" });
        answers.Add((create.Status, create.Raw));
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl + "/") };
        using var graphQL = new HttpRequestMessage(HttpMethod.Post, "graphql")
        {
            Content = new StringContent("""{"query":"mutation { createBoom(input: { fields: { name: \"x\" } }) { boom { objectId } } }"}""", Encoding.UTF8, "application/json"),
        };
        graphQL.Headers.Add("X-Parse-Application-Id", CrmServer.AppId);
        graphQL.Headers.Add("X-Parse-Master-Key", CrmServer.MasterKey);
        using var graphQLResponse = await http.SendAsync(graphQL);
        answers.Add((graphQLResponse.StatusCode, await graphQLResponse.Content.ReadAsStringAsync()));

        Assert.Equal(HttpStatusCode.InternalServerError, answers[0].Status);
        foreach (var (status, body) in answers)
        {
            Assert.DoesNotContain(Secret, body, StringComparison.Ordinal);
            Assert.DoesNotContain("InvalidOperationException", body, StringComparison.Ordinal);
            Assert.DoesNotContain(" at Crm.", body, StringComparison.Ordinal);
            Assert.DoesNotContain(".cs:line", body, StringComparison.Ordinal);
            Assert.Contains("Internal server error", body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task html_pages_send_security_headers()
    {
        using var server = new CrmServer();
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl + "/") };
        foreach (var path in new[] { "graphql", "docs/", "docs/erd", "docs/dictionary", "docs/playground" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Accept.ParseAdd("text/html");
            using var response = await http.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode}");
            Assert.StartsWith("text/html", response.Content.Headers.ContentType?.MediaType ?? "", StringComparison.Ordinal);
            Assert.Equal("nosniff", Header(response, "X-Content-Type-Options"));
            Assert.Equal("DENY", Header(response, "X-Frame-Options"));
            Assert.Equal("no-referrer", Header(response, "Referrer-Policy"));
            var csp = Header(response, "Content-Security-Policy") ?? "";
            Assert.Contains("default-src 'self'", csp, StringComparison.Ordinal);
            Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
            Assert.Contains("object-src 'none'", csp, StringComparison.Ordinal);
            // GraphiQL loads only its own script files; no inline script is allowed there.
            if (path == "graphql") Assert.Contains("script-src 'self';", csp, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task request_ids_are_echoed_or_generated()
    {
        using var server = new CrmServer();
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl + "/") };
        using (var request = new HttpRequestMessage(HttpMethod.Get, "parse/health"))
        {
            request.Headers.Add("X-Request-Id", "client-req-42");
            using var response = await http.SendAsync(request);
            Assert.Equal("client-req-42", Header(response, "X-Request-Id"));
        }
        using (var response = await http.GetAsync("parse/health"))
            Assert.Matches("^[0-9a-f]{32}$", Header(response, "X-Request-Id") ?? "");
        using (var request = new HttpRequestMessage(HttpMethod.Get, "parse/classes/Nope"))
        {
            // A value that would forge log lines is replaced, not echoed.
            request.Headers.TryAddWithoutValidation("X-Request-Id", "x\" level=admin " + new string('a', 300));
            using var response = await http.SendAsync(request);
            Assert.Matches("^[0-9a-f]{32}$", Header(response, "X-Request-Id") ?? "");
        }
    }

    [Fact]
    public async Task logs_carry_request_ids_and_never_passwords_tokens_or_the_master_key()
    {
        var logs = new CapturingLoggerProvider();
        using var server = new CrmServer(
            TestSettings.Fast(("Logging:LogLevel:Default", "Trace"), ("Logging:LogLevel:Crm.Functions", "Trace")),
            services => services.AddSingleton<ILoggerProvider>(logs));
        const string Password = "hunter2-very-secret-pw";
        using var client = server.Client();
        var (_, signUpToken) = await client.SignUpAsync(Wire.Unique("logged"), Password);
        var username = (await client.GetAsync("users/me")).Json!["username"]!.GetValue<string>();
        var login = await client.LogInAsync(username, Password);
        login.EnsureStatus(HttpStatusCode.OK);
        var loginToken = client.SessionToken!;
        (await client.LogInAsync(username, Password + "-wrong")).EnsureError(101);
        // GET /login carries the password in the query string.
        (await client.GetAsync($"login?username={Uri.EscapeDataString(username)}&password={Uri.EscapeDataString(Password)}")).EnsureStatus(HttpStatusCode.OK);
        client.SessionToken = loginToken;
        await client.PostAsync("classes/Logged", new JsonObject { ["note"] = "x" });
        await client.GetAsync("classes/Logged");
        client.SessionToken = "r:forged-token-that-is-secret";
        await client.GetAsync("users/me");
        using var master = server.Client().AsMaster();
        (await master.GetAsync("schemas")).EnsureStatus(HttpStatusCode.OK);
        using var wrongMaster = server.Client();
        await wrongMaster.SendAsync(HttpMethod.Get, "schemas", headers: new Dictionary<string, string> { ["X-Parse-Master-Key"] = "wrong-master-key-also-secret" });
        // The JS SDK's envelope puts credentials in the body.
        await server.Client().SendTextAsync(HttpMethod.Post, "classes/Logged",
            $$"""{"_method":"GET","_ApplicationId":"crm","_MasterKey":"{{CrmServer.MasterKey}}","_SessionToken":"{{loginToken}}"}""", "text/plain", appId: false);
        // A failure that is logged with its exception.
        server.Services.GetRequiredService<TriggerRegistry>().Define("fails", (_, _) => throw new InvalidOperationException("boom"));
        await client.WithSession(loginToken).PostAsync("functions/fails", new JsonObject { ["password"] = Password });

        var text = logs.Text;
        Assert.Contains("answered 200", text, StringComparison.Ordinal);
        Assert.Contains("RequestId=", text, StringComparison.Ordinal);
        foreach (var secret in new[] { Password, signUpToken, loginToken, "r:forged-token-that-is-secret", CrmServer.MasterKey, "wrong-master-key-also-secret" })
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, string origin, bool preflight = false)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.TryAddWithoutValidation("Origin", origin);
        if (preflight)
        {
            request.Headers.Add("Access-Control-Request-Method", "POST");
            request.Headers.Add("Access-Control-Request-Headers", "x-parse-application-id, x-parse-session-token, content-type");
        }
        return await http.SendAsync(request);
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values) ? string.Join(", ", values) : null;
}

/// <summary>Keeps every log line, with its scopes and exception, as text.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<string> _lines = new();
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public string Text => string.Join('\n', _lines);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose() { }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner._scopes.Push(state);
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = new StringBuilder($"{logLevel} {category}: {formatter(state, exception)} {exception}");
            if (state is IEnumerable<KeyValuePair<string, object?>> values)
                foreach (var (key, value) in values) line.Append(' ').Append(key).Append('=').Append(value);
            owner._scopes.ForEachScope((scope, builder) =>
            {
                if (scope is IEnumerable<KeyValuePair<string, object>> pairs)
                    foreach (var (key, value) in pairs) builder.Append(' ').Append(key).Append('=').Append(value);
                else builder.Append(' ').Append(scope);
            }, line);
            owner._lines.Enqueue(line.ToString());
        }
    }
}
