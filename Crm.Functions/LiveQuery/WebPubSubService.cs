using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Azure.Core;
using Crm.Functions.Core;
using Crm.Functions.Realtime;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Crm.Functions.LiveQuery;

/// <summary>
/// Azure Web PubSub's data-plane REST API (2024-01-01), the two calls LiveQuery needs: send a text frame to one
/// connection, and close one. Without an access key (the Azure deployment: local auth is off) every call carries the
/// app identity's Entra token for <see cref="Scope"/>; with one (local use), a token the app signs with it (HS256,
/// audience = the URL called), as the service accepts. Written against the REST API rather than its SDK for the same
/// reasons as <see cref="AzureSignalR"/>: one HttpClient, the shared <see cref="EntraTokens"/> cache, and plain HTTP
/// to a local stand-in in the tests.
/// </summary>
internal sealed class WebPubSubService
{
    public const string ApiVersion = "2024-01-01";
    public const string Scope = "https://webpubsub.azure.com/.default";

    private readonly string _hub;
    private readonly string? _accessKey;
    private readonly EntraTokens? _entra;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;

    public WebPubSubService(WebPubSubSettings settings, TokenCredential? credential, HttpClient http, TimeProvider time)
    {
        var endpoint = new Uri(settings.Endpoint!);
        Endpoint = endpoint.GetLeftPart(UriPartial.Authority);
        Host = endpoint.Host;
        _hub = Uri.EscapeDataString(settings.Hub);
        (_http, _time) = (http, time);
        if (!string.IsNullOrEmpty(settings.AccessKey)) _accessKey = settings.AccessKey;
        // DefaultAzureCredential picks the user-assigned identity named by AZURE_CLIENT_ID (set by the Bicep).
        else _entra = new EntraTokens(credential ?? new Azure.Identity.DefaultAzureCredential(), time, Scope);
    }

    /// <summary>https://{name}.webpubsub.azure.com</summary>
    public string Endpoint { get; }

    /// <summary>The service's host, which its abuse-protection handshake names in WebHook-Request-Origin.</summary>
    public string Host { get; }

    /// <summary>The URL a LiveQuery client is configured with (liveQueryServerURL).</summary>
    public string ClientUrl => (Endpoint.StartsWith("https:", StringComparison.Ordinal) ? "wss" : "ws") + Endpoint[Endpoint.IndexOf(':')..] + $"/client/hubs/{_hub}";

    /// <summary>POST …/connections/{id}/:send (text/plain); false when the service no longer has the connection (404).</summary>
    public async Task<bool> SendAsync(string connectionId, string frame, CancellationToken ct)
    {
        using var content = new StringContent(frame, Encoding.UTF8, "text/plain");
        return await CallAsync(HttpMethod.Post, $"{Connection(connectionId)}/:send", "", content, ct);
    }

    /// <summary>DELETE …/connections/{id}?reason=…: the service closes the client's socket.</summary>
    public Task<bool> CloseAsync(string connectionId, string reason, CancellationToken ct) =>
        CallAsync(HttpMethod.Delete, Connection(connectionId), $"&reason={Uri.EscapeDataString(reason)}", null, ct);

    private string Connection(string connectionId) => $"{Endpoint}/api/hubs/{_hub}/connections/{Uri.EscapeDataString(connectionId)}";

    private async Task<bool> CallAsync(HttpMethod method, string url, string query, HttpContent? content, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            var bearer = _entra is not null ? await _entra.GetAsync(ct) : Sign(url);
            using var request = new HttpRequestMessage(method, $"{url}?api-version={ApiVersion}{query}") { Content = content };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
            response = await _http.SendAsync(request, ct);
        }
        catch (Exception e) when (e is Azure.Identity.AuthenticationFailedException or HttpRequestException
                                      || (e is TaskCanceledException && !ct.IsCancellationRequested))
        {
            throw new RealtimeServiceException($"Azure Web PubSub could not be reached: {e.GetType().Name}.", e);
        }
        using (response)
        {
            if (response.IsSuccessStatusCode) return true;
            if (response.StatusCode == HttpStatusCode.NotFound) return false;
            throw new RealtimeServiceException($"Azure Web PubSub refused {method} {new Uri(url).AbsolutePath}: HTTP {(int)response.StatusCode}.");
        }
    }

    private string Sign(string audience)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Audience = audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now.AddMinutes(5),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(_accessKey!)), SecurityAlgorithms.HmacSha256),
        });
    }
}
