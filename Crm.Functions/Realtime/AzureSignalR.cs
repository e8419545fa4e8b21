using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Core;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Crm.Functions.Realtime;

/// <summary>
/// Azure SignalR Service in Serverless mode through its data-plane REST API (2022-11-01), without its SDK.
/// With an access key the app signs every token itself (HS256, audience = the URL it is presented to).
/// With Microsoft Entra ID (our Azure deployment: local auth is disabled, so no key exists) every call
/// carries an Entra bearer token and the service mints the client tokens (<c>:generateToken</c>).
/// </summary>
internal sealed class AzureSignalR
{
    public const string ApiVersion = "2022-11-01";

    private readonly string? _accessKey;
    private readonly EntraTokens? _entra;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;

    private AzureSignalR(Uri endpoint, string? accessKey, EntraTokens? entra, HttpClient http, TimeProvider time)
    {
        Endpoint = endpoint.GetLeftPart(UriPartial.Authority) + endpoint.AbsolutePath.TrimEnd('/');
        (_accessKey, _entra, _http, _time) = (accessKey, entra, http, time);
    }

    public string Endpoint { get; }

    /// <summary>
    /// The service for a connection string, or null without one. <paramref name="credential"/> (from DI) replaces the
    /// credential the string names (tests supply one; so can a host with its own identity setup).
    /// </summary>
    public static AzureSignalR? Create(SignalRConnectionString? settings, TokenCredential? credential, HttpClient http, TimeProvider time) => settings switch
    {
        null => null,
        { UsesEntraId: true } => new AzureSignalR(settings.Endpoint, null, new EntraTokens(credential ?? settings.CreateCredential(), time), http, time),
        _ => new AzureSignalR(settings.Endpoint, settings.AccessKey, null, http, time),
    };

    public string ClientUrl(string hub) => $"{Endpoint}/client/?hub={Hub(hub)}";

    /// <summary>The token a client presents to the service; it names the user that user-targeted messages reach.</summary>
    public async Task<string> ClientTokenAsync(string hub, string userId, TimeSpan lifetime, CancellationToken ct)
    {
        if (_accessKey is not null) return Sign(ClientUrl(hub), lifetime, new Dictionary<string, object> { ["nameid"] = userId });

        // POST {endpoint}/api/hubs/{hub}/:generateToken?userId=…&minutesToExpire=… answers {"token": "…"}.
        var minutes = Math.Max(1, (int)Math.Ceiling(lifetime.TotalMinutes)).ToString(CultureInfo.InvariantCulture);
        var url = $"{Endpoint}/api/hubs/{Hub(hub)}/:generateToken";
        using var response = await SendAsync(url, $"&userId={Uri.EscapeDataString(userId)}&minutesToExpire={minutes}", null, ct);
        try
        {
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(ct));
            return body?["token"] is JsonValue token && token.TryGetValue(out string? value) && value.Length > 0
                ? value
                : throw new RealtimeServiceException("Azure SignalR answered :generateToken without a token.");
        }
        catch (JsonException e)
        {
            throw new RealtimeServiceException("Azure SignalR answered :generateToken with invalid JSON.", e);
        }
    }

    /// <summary>POST {endpoint}/api/hubs/{hub}/users/{user}/:send: the service answers 202 once it accepted the message.</summary>
    public async Task SendToUserAsync(string hub, string userId, string target, JsonNode argument, CancellationToken ct)
    {
        var body = new JsonObject { ["target"] = target, ["arguments"] = new JsonArray(argument.DeepClone()) };
        using var _ = await SendAsync($"{Endpoint}/api/hubs/{Hub(hub)}/users/{Uri.EscapeDataString(userId)}/:send", "", body, ct);
    }

    /// <summary>POST {endpoint}/api/hubs/{hub}/users/{user}/:closeConnections?reason=…: the service answers 204 once they are closed.</summary>
    public async Task CloseUserConnectionsAsync(string hub, string userId, string reason, CancellationToken ct)
    {
        using var _ = await SendAsync($"{Endpoint}/api/hubs/{Hub(hub)}/users/{Uri.EscapeDataString(userId)}/:closeConnections",
            $"&reason={Uri.EscapeDataString(reason)}", null, ct);
    }

    /// <summary>One REST call; the access-key audience is the URL without its query, as the service checks it.</summary>
    private async Task<HttpResponseMessage> SendAsync(string url, string query, JsonNode? body, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            var bearer = _entra is not null ? await _entra.GetAsync(ct) : Sign(url, TimeSpan.FromMinutes(5), []);
            using var request = new HttpRequestMessage(HttpMethod.Post, $"{url}?api-version={ApiVersion}{query}");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
            if (body is not null) request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
            response = await _http.SendAsync(request, ct);
        }
        catch (Exception e) when (e is Azure.Identity.AuthenticationFailedException or HttpRequestException
                                      || (e is TaskCanceledException && !ct.IsCancellationRequested))
        {
            throw new RealtimeServiceException($"Azure SignalR could not be reached: {e.GetType().Name}.", e);
        }
        if (response.IsSuccessStatusCode) return response;
        response.Dispose();
        throw new RealtimeServiceException($"Azure SignalR refused {new Uri(url).AbsolutePath}: HTTP {(int)response.StatusCode}.");
    }

    private static string Hub(string hub) => Uri.EscapeDataString(hub.ToLowerInvariant());

    private string Sign(string audience, TimeSpan lifetime, Dictionary<string, object> claims)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        var descriptor = new SecurityTokenDescriptor
        {
            Audience = audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + lifetime,
            Claims = claims,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(_accessKey!)), SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }
}

/// <summary>Azure SignalR Service could not be used (no Entra token, unreachable, or it refused the call).</summary>
internal sealed class RealtimeServiceException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The configured Azure SignalR Service, or none (then the app's own hub serves clients).</summary>
internal sealed record AzureConnection(AzureSignalR? Service);
