using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Crm.Functions.Tests.LiveQuery;

/// <summary>A REST call the stand-in answered.</summary>
public sealed record WebPubSubCall(string Method, string Path, string? ApiVersion, string? Authorization, string? ContentType, string Body, int Status);

/// <summary>A CloudEvent the stand-in delivered upstream, and what the app answered.</summary>
public sealed record UpstreamDelivery(string Type, string ConnectionId, int Status, string? ContentType, string Body);

/// <summary>
/// A local stand-in (Kestrel on loopback) for Azure Web PubSub in serverless use, as the LiveQuery transport sees it:
/// <list type="bullet">
/// <item>simple WebSocket clients connect anonymously at <c>/client/hubs/{hub}</c>;</item>
/// <item>before the first delivery it performs the abuse-protection handshake (OPTIONS with WebHook-Request-Origin) against
/// the upstream URL and delivers nothing unless WebHook-Allowed-Origin names it;</item>
/// <item>it forwards <c>connect</c> (blocking: a non-2xx refuses the socket), each client frame as
/// <c>azure.webpubsub.user.message</c> (one at a time per connection; the response body goes back as a frame) and
/// <c>disconnected</c>, as CloudEvents in HTTP binary mode with the bearer token <see cref="UpstreamToken"/> gives;</item>
/// <item>its REST side serves <c>POST /api/hubs/{hub}/connections/{id}/:send</c> (202) and <c>DELETE
/// /api/hubs/{hub}/connections/{id}</c> (204, closes the socket), checking the bearer (<see cref="Authorize"/>),
/// the api-version (2024-01-01), the hub and the connection (401/400/404 otherwise).</item>
/// </list>
/// </summary>
public sealed partial class WebPubSubServiceStandIn : IAsyncDisposable
{
    public const string ApiVersion = "2024-01-01";

    private readonly WebApplication _app;
    private readonly string _hub;
    private readonly HttpClient _upstream = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly ConcurrentDictionary<string, Client> _clients = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _handshake = new(1, 1);
    private bool? _validated;

    private sealed class Client(WebSocket socket)
    {
        public WebSocket Socket { get; } = socket;
        public SemaphoreSlim Sending { get; } = new(1, 1);
    }

    public WebPubSubServiceStandIn(Func<string?, bool> authorize, Func<string?> upstreamToken, string hub = "livequery")
    {
        Authorize = authorize;
        UpstreamToken = upstreamToken;
        _hub = hub;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.UseWebSockets();
        _app.Run(HandleAsync);
        _app.StartAsync().GetAwaiter().GetResult();
        Endpoint = _app.Urls.Single().TrimEnd('/');
        Origin = new Uri(Endpoint).Host;
    }

    /// <summary>http://127.0.0.1:port — the app's Parse:LiveQuery:WebPubSub:Endpoint.</summary>
    public string Endpoint { get; }

    /// <summary>What a Parse SDK is given as liveQueryServerURL.</summary>
    public string ClientUrl => Endpoint.Replace("http://", "ws://", StringComparison.Ordinal) + $"/client/hubs/{_hub}";

    /// <summary>The host the handshake names in WebHook-Request-Origin (the real service: name.webpubsub.azure.com).</summary>
    public string Origin { get; set; }

    /// <summary>The app's upstream endpoint, e.g. http://127.0.0.1:5000/realtime/webpubsub.</summary>
    public string? Upstream { get; set; }

    /// <summary>Decides whether a REST call's Authorization header is accepted.</summary>
    public Func<string?, bool> Authorize { get; }

    /// <summary>The bearer token each upstream delivery carries (the service's managed identity); null: none.</summary>
    public Func<string?> UpstreamToken { get; set; }

    public BlockingCollection<WebPubSubCall> Calls { get; } = [];
    public BlockingCollection<UpstreamDelivery> Deliveries { get; } = [];

    /// <summary>Whether the handshake succeeded (null before it ran).</summary>
    public bool? Validated => _validated;

    public IReadOnlyCollection<string> Connections => [.. _clients.Keys];

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        if (ClientPath().Match(path) is { Success: true } client)
        {
            await ServeClientAsync(context, client.Groups["hub"].Value);
            return;
        }
        await ServeRestAsync(context, path);
    }

    // ---- client side ------------------------------------------------------------------------------------

    private async Task ServeClientAsync(HttpContext context, string hub)
    {
        if (!context.WebSockets.IsWebSocketRequest || !string.Equals(hub, _hub, StringComparison.OrdinalIgnoreCase))
        {
            context.Response.StatusCode = 404;
            return;
        }
        if (!await HandshakeAsync())
        {
            context.Response.StatusCode = 500; // the real service refuses to use an event handler that failed validation
            return;
        }
        var connectionId = Guid.NewGuid().ToString("N");
        var connect = new JsonObject
        {
            ["claims"] = new JsonObject(),
            ["query"] = new JsonObject(),
            ["headers"] = new JsonObject(),
            ["subprotocols"] = new JsonArray(),
            ["clientCertificates"] = new JsonArray(),
        };
        var (status, _, _) = await DeliverAsync("azure.webpubsub.sys.connect", "connect", connectionId, "application/json", Encoding.UTF8.GetBytes(connect.ToJsonString()));
        if (status is < 200 or >= 300)
        {
            context.Response.StatusCode = 401;
            return;
        }
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var entry = new Client(socket);
        _clients[connectionId] = entry;
        try
        {
            var buffer = new MemoryStream();
            var chunk = new byte[8192];
            while (socket.State == WebSocketState.Open)
            {
                var result = await socket.ReceiveAsync(chunk, context.RequestAborted);
                if (result.MessageType == WebSocketMessageType.Close) break;
                buffer.Write(chunk, 0, result.Count);
                if (!result.EndOfMessage) continue;
                var contentType = result.MessageType == WebSocketMessageType.Text ? "text/plain; charset=utf-8" : "application/octet-stream";
                var (answer, answerType, body) = await DeliverAsync("azure.webpubsub.user.message", "message", connectionId, contentType, buffer.ToArray());
                buffer.SetLength(0);
                if (answer is >= 200 and < 300 && body.Length > 0)
                    await SendAsync(entry, body, answerType?.StartsWith("application/octet-stream", StringComparison.Ordinal) != true);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            // the client went away
        }
        finally
        {
            if (_clients.TryRemove(connectionId, out _))
                await DeliverAsync("azure.webpubsub.sys.disconnected", "disconnected", connectionId, "application/json", Encoding.UTF8.GetBytes("{\"reason\":\"\"}"));
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
        }
    }

    private static async Task SendAsync(Client client, byte[] frame, bool text)
    {
        await client.Sending.WaitAsync();
        try
        {
            if (client.Socket.State == WebSocketState.Open)
                await client.Socket.SendAsync(frame, text ? WebSocketMessageType.Text : WebSocketMessageType.Binary, true, CancellationToken.None);
        }
        catch (WebSocketException)
        {
            // the client went away
        }
        finally
        {
            client.Sending.Release();
        }
    }

    /// <summary>The abuse-protection handshake, once: OPTIONS with WebHook-Request-Origin, which the answer must allow.</summary>
    private async Task<bool> HandshakeAsync()
    {
        await _handshake.WaitAsync();
        try
        {
            if (_validated is { } done) return done;
            using var request = new HttpRequestMessage(HttpMethod.Options, Upstream);
            request.Headers.Add("WebHook-Request-Origin", Origin);
            using var response = await _upstream.SendAsync(request);
            var allowed = response.Headers.TryGetValues("WebHook-Allowed-Origin", out var values) ? values.ToList() : [];
            _validated = response.IsSuccessStatusCode && allowed.Count == 1 && (allowed[0] == "*" || string.Equals(allowed[0], Origin, StringComparison.OrdinalIgnoreCase));
            return _validated.Value;
        }
        finally
        {
            _handshake.Release();
        }
    }

    /// <summary>One CloudEvent in HTTP binary mode: attributes as ce-* headers, the data as the body.</summary>
    private async Task<(int Status, string? ContentType, byte[] Body)> DeliverAsync(string type, string eventName, string connectionId, string contentType, byte[] data)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Upstream) { Content = new ByteArrayContent(data) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        request.Headers.Add("WebHook-Request-Origin", Origin);
        request.Headers.Add("ce-specversion", "1.0");
        request.Headers.Add("ce-type", type);
        request.Headers.Add("ce-source", $"/hubs/{_hub}/client/{connectionId}");
        request.Headers.Add("ce-id", Guid.NewGuid().ToString("N"));
        request.Headers.Add("ce-time", DateTime.UtcNow.ToString("O"));
        request.Headers.Add("ce-hub", _hub);
        request.Headers.Add("ce-connectionId", connectionId);
        request.Headers.Add("ce-eventName", eventName);
        if (UpstreamToken() is { } token) request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        using var response = await _upstream.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();
        var answerType = response.Content.Headers.ContentType?.ToString();
        Deliveries.Add(new UpstreamDelivery(type, connectionId, (int)response.StatusCode, answerType, Encoding.UTF8.GetString(body)));
        return ((int)response.StatusCode, answerType, body);
    }

    // ---- REST side --------------------------------------------------------------------------------------

    private async Task ServeRestAsync(HttpContext context, string path)
    {
        var request = context.Request;
        var body = await new StreamReader(request.Body).ReadToEndAsync();
        var apiVersion = request.Query["api-version"].ToString();
        var authorization = request.Headers.Authorization.ToString();
        var send = SendToConnection().Match(path);
        var close = ConnectionPath().Match(path);
        var match = send.Success ? send : close;
        int status;
        if (!match.Success) status = 404;
        else if (!Authorize(authorization.Length == 0 ? null : authorization)) status = 401;
        else if (apiVersion != ApiVersion) status = 400;
        else if (!string.Equals(match.Groups["hub"].Value, _hub, StringComparison.OrdinalIgnoreCase)) status = 404;
        else if (!_clients.TryGetValue(Uri.UnescapeDataString(match.Groups["id"].Value), out var client)) status = send.Success ? 404 : 204;
        else if (send.Success && request.Method == "POST")
        {
            var text = request.ContentType?.StartsWith("text/plain", StringComparison.Ordinal) == true;
            await SendAsync(client, Encoding.UTF8.GetBytes(body), text);
            status = 202;
        }
        else if (close.Success && request.Method == "DELETE")
        {
            await client.Sending.WaitAsync();
            try
            {
                if (client.Socket.State == WebSocketState.Open)
                    await client.Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, request.Query["reason"].ToString(), CancellationToken.None);
            }
            catch (WebSocketException)
            {
                // already gone
            }
            finally
            {
                client.Sending.Release();
            }
            status = 204;
        }
        else status = 405;
        Calls.Add(new WebPubSubCall(request.Method, path, apiVersion.Length == 0 ? null : apiVersion, authorization.Length == 0 ? null : authorization,
            request.ContentType, body, status));
        context.Response.StatusCode = status;
    }

    [GeneratedRegex("^/client/hubs/(?<hub>[^/]+)/?$")]
    private static partial Regex ClientPath();

    [GeneratedRegex("^/api/hubs/(?<hub>[^/]+)/connections/(?<id>[^/]+)/:send$")]
    private static partial Regex SendToConnection();

    [GeneratedRegex("^/api/hubs/(?<hub>[^/]+)/connections/(?<id>[^/]+)$")]
    private static partial Regex ConnectionPath();

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients.Values) client.Socket.Abort();
        await _app.DisposeAsync();
        _upstream.Dispose();
    }
}
