using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Crm.Functions.Realtime;

/// <summary>
/// Azure SignalR Service in Serverless mode, without its SDK: client tokens for /negotiate and the REST
/// API for pushes, both JWTs signed (HS256) with the service's access key, the audience being the exact
/// URL the token is presented to (the service rejects a token minted for another URL or hub).
/// </summary>
internal sealed class AzureSignalR(string endpoint, string accessKey, HttpClient http, TimeProvider time)
{
    public string Endpoint { get; } = endpoint.TrimEnd('/');

    /// <summary>Parses "Endpoint=https://x.service.signalr.net;AccessKey=…;Version=1.0;[Port=…]"; null when incomplete.</summary>
    public static AzureSignalR? FromConnectionString(string? connectionString, HttpClient http, TimeProvider time)
    {
        if (string.IsNullOrWhiteSpace(connectionString)) return null;
        var parts = connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => p.Split('=', 2)).Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1], StringComparer.OrdinalIgnoreCase);
        if (!parts.TryGetValue("Endpoint", out var endpoint) || !parts.TryGetValue("AccessKey", out var key)
            || !Uri.TryCreate(endpoint, UriKind.Absolute, out var uri))
            throw new InvalidOperationException("Setting Azure:SignalR:ConnectionString needs Endpoint=…;AccessKey=… (managed identity is not supported for client tokens).");
        if (parts.TryGetValue("Port", out var port)) endpoint = new UriBuilder(uri) { Port = int.Parse(port, System.Globalization.CultureInfo.InvariantCulture) }.Uri.ToString();
        return new AzureSignalR(endpoint, key, http, time);
    }

    public string ClientUrl(string hub) => $"{Endpoint}/client/?hub={Uri.EscapeDataString(hub.ToLowerInvariant())}";

    /// <summary>The token a client presents to the service; <c>nameid</c> makes it the user that user-targeted messages reach.</summary>
    public string ClientToken(string hub, string userId, TimeSpan lifetime) =>
        Sign(ClientUrl(hub), lifetime, new Dictionary<string, object> { ["nameid"] = userId });

    public string UserUrl(string hub, string userId) =>
        $"{Endpoint}/api/v1/hubs/{Uri.EscapeDataString(hub.ToLowerInvariant())}/users/{Uri.EscapeDataString(userId)}";

    /// <summary>POST {endpoint}/api/v1/hubs/{hub}/users/{userId}: the service answers 202 when it accepted the message.</summary>
    public async Task SendToUserAsync(string hub, string userId, string target, JsonNode argument, CancellationToken ct)
    {
        var url = UserUrl(hub, userId);
        using var request = new HttpRequestMessage(HttpMethod.Post, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Sign(url, TimeSpan.FromMinutes(5), []));
        var body = new JsonObject { ["target"] = target, ["arguments"] = new JsonArray(argument.DeepClone()) };
        request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request, ct);
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"Azure SignalR refused a message for a user: HTTP {(int)response.StatusCode}.", null, response.StatusCode);
    }

    private string Sign(string audience, TimeSpan lifetime, Dictionary<string, object> claims)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var descriptor = new SecurityTokenDescriptor
        {
            Audience = audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + lifetime,
            Claims = claims,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(accessKey)), SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }
}

/// <summary>The configured Azure SignalR Service, or none (then the app's own hub serves clients).</summary>
internal sealed record AzureConnection(AzureSignalR? Service);
