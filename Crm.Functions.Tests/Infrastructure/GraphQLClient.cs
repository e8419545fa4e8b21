using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Crm.Functions.Tests.Infrastructure;

/// <summary>A raw GraphQL-over-HTTP client: POSTs {query, variables} to /graphql with Parse headers and parses the JSON answer.</summary>
public sealed class GraphQLClient(CrmServer server) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = new Uri(server.BaseUrl + "/") };

    public string? SessionToken { get; set; }
    public bool UseMasterKey { get; set; }
    public string? AppId { get; set; } = CrmServer.AppId;

    public GraphQLClient AsMaster()
    {
        UseMasterKey = true;
        return this;
    }

    public GraphQLClient WithSession(string? token)
    {
        SessionToken = token;
        return this;
    }

    public async Task<GraphQLResponse> SendAsync(string query, object? variables = null)
    {
        var body = new JsonObject { ["query"] = query };
        if (variables is not null) body["variables"] = variables as JsonNode ?? JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(variables));
        return await PostRawAsync(body.ToJsonString(), "application/json");
    }

    public async Task<GraphQLResponse> PostRawAsync(string body, string contentType)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "graphql") { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return await SendRequestAsync(request);
    }

    public async Task<GraphQLResponse> GetAsync(string pathAndQuery, string? accept = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, pathAndQuery.TrimStart('/'));
        if (accept is not null) request.Headers.Accept.ParseAdd(accept);
        return await SendRequestAsync(request);
    }

    private async Task<GraphQLResponse> SendRequestAsync(HttpRequestMessage request)
    {
        if (AppId is not null) request.Headers.Add("X-Parse-Application-Id", AppId);
        if (UseMasterKey) request.Headers.Add("X-Parse-Master-Key", CrmServer.MasterKey);
        if (SessionToken is not null) request.Headers.Add("X-Parse-Session-Token", SessionToken);
        using var response = await _http.SendAsync(request);
        var raw = await response.Content.ReadAsStringAsync();
        JsonNode? json = null;
        try { json = raw.Length == 0 ? null : JsonNode.Parse(raw); } catch (System.Text.Json.JsonException) { }
        return new GraphQLResponse(response.StatusCode, json, raw, response.Content.Headers.ContentType?.MediaType);
    }

    public void Dispose() => _http.Dispose();
}

public sealed record GraphQLResponse(HttpStatusCode Status, JsonNode? Json, string Raw, string? MediaType)
{
    public JsonNode? Data => Json?["data"];
    public JsonArray? Errors => Json?["errors"] as JsonArray;

    /// <summary>Asserts HTTP 200 without errors and returns <c>data</c>.</summary>
    public JsonNode Ok()
    {
        if (Status != HttpStatusCode.OK || Errors is { Count: > 0 } || Data is null)
            throw new Xunit.Sdk.XunitException($"Expected a GraphQL success but got HTTP {(int)Status}: {Raw}");
        return Data;
    }

    /// <summary>
    /// Asserts a request refused before execution (caller, limits): REST's status, and REST's Parse code in
    /// <c>errors[0].extensions.code</c>; returns the error.
    /// </summary>
    public JsonNode Refused(HttpStatusCode status, int code)
    {
        var error = Errors is [{ } first] ? first : null;
        if (Status != status || error?["extensions"]?["code"] is not JsonValue v || !v.TryGetValue(out int c) || c != code)
            throw new Xunit.Sdk.XunitException($"Expected HTTP {(int)status} with one GraphQL error of Parse code {code} but got HTTP {(int)Status}: {Raw}");
        return error;
    }

    /// <summary>Asserts one GraphQL error whose extensions.code is the Parse error code; returns the error.</summary>
    public JsonNode ParseError(int code)
    {
        var error = Errors?.FirstOrDefault(e => e?["extensions"]?["code"] is JsonValue v && v.TryGetValue(out int c) && c == code);
        if (Status != HttpStatusCode.OK || error is null)
            throw new Xunit.Sdk.XunitException($"Expected a GraphQL error with Parse code {code} (HTTP 200) but got HTTP {(int)Status}: {Raw}");
        Assert.False(string.IsNullOrEmpty(error["message"]?.GetValue<string>()), "error message missing");
        return error;
    }
}
