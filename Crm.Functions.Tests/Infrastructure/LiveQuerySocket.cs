using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Crm.Functions.Tests.Infrastructure;

/// <summary>
/// A raw LiveQuery client (System.Net.WebSockets): sends frames as given and reads frames one by one, so tests see
/// the protocol's exact shapes. Waits end after a generous limit and fail the test, never pass it.
/// </summary>
public sealed class LiveQuerySocket : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();

    private LiveQuerySocket()
    {
    }

    /// <summary>The close status once the server closed the socket.</summary>
    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public static async Task<LiveQuerySocket> OpenAsync(CrmServer server, string path = "/parse")
    {
        var socket = new LiveQuerySocket();
        await socket._socket.ConnectAsync(new Uri(server.BaseUrl.Replace("http://", "ws://", StringComparison.Ordinal) + path), CancellationToken.None);
        return socket;
    }

    /// <summary>Opens a socket at any LiveQuery URL (a Web PubSub client URL: the stand-in's).</summary>
    public static async Task<LiveQuerySocket> OpenAsync(string url)
    {
        var socket = new LiveQuerySocket();
        await socket._socket.ConnectAsync(new Uri(url), CancellationToken.None);
        return socket;
    }

    /// <summary>Opens a socket and connects it (optionally with a session token or the master key); returns it after "connected".</summary>
    public static async Task<LiveQuerySocket> ConnectAsync(CrmServer server, string? sessionToken = null, bool master = false)
    {
        var socket = await OpenAsync(server);
        var connect = new JsonObject { ["op"] = "connect", ["applicationId"] = CrmServer.AppId };
        if (sessionToken is not null) connect["sessionToken"] = sessionToken;
        if (master) connect["masterKey"] = CrmServer.MasterKey;
        await socket.SendAsync(connect);
        var connected = await socket.NextAsync();
        Assert.True(connected["op"]?.GetValue<string>() == "connected", $"expected connected, got {connected.ToJsonString()}");
        return socket;
    }

    public Task SendAsync(JsonObject frame) => SendTextAsync(frame.ToJsonString());

    public Task SendTextAsync(string text) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    public Task SendBinaryAsync(byte[] bytes) => _socket.SendAsync(bytes, WebSocketMessageType.Binary, true, CancellationToken.None);

    /// <summary>Subscribes and waits for "subscribed" (or fails with the error frame received instead).</summary>
    public async Task SubscribeAsync(int requestId, string className, JsonObject? where = null, string[]? keys = null, string[]? watch = null, string? sessionToken = null)
    {
        var frame = Subscribe(requestId, className, where, keys, watch, sessionToken);
        await SendAsync(frame);
        var answer = await NextAsync();
        Assert.True(answer["op"]?.GetValue<string>() == "subscribed" && answer["requestId"]?.GetValue<int>() == requestId,
            $"expected subscribed {requestId}, got {answer.ToJsonString()}");
    }

    public static JsonObject Subscribe(int requestId, string className, JsonObject? where = null, string[]? keys = null, string[]? watch = null, string? sessionToken = null, string op = "subscribe")
    {
        var query = new JsonObject { ["className"] = className, ["where"] = where ?? new JsonObject() };
        if (keys is not null) query["keys"] = new JsonArray(keys.Select(k => (JsonNode)k).ToArray());
        if (watch is not null) query["watch"] = new JsonArray(watch.Select(k => (JsonNode)k).ToArray());
        var frame = new JsonObject { ["op"] = op, ["requestId"] = requestId, ["query"] = query };
        if (sessionToken is not null) frame["sessionToken"] = sessionToken;
        return frame;
    }

    /// <summary>The next frame; fails when none comes within the limit or the socket closes.</summary>
    public async Task<JsonObject> NextAsync(int timeoutMs = 15_000) =>
        await TryNextAsync(timeoutMs) ?? throw new Xunit.Sdk.XunitException($"no frame within {timeoutMs} ms (socket {_socket.State}, close {_socket.CloseStatus})");

    /// <summary>The next frame, or null when the socket was closed by the server.</summary>
    public async Task<JsonObject?> TryNextAsync(int timeoutMs = 15_000)
    {
        using var timeout = new CancellationTokenSource(timeoutMs);
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            WebSocketReceiveResult result;
            try
            {
                result = await _socket.ReceiveAsync(buffer, timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new Xunit.Sdk.XunitException($"no frame within {timeoutMs} ms");
            }
            catch (WebSocketException)
            {
                return null;
            }
            if (result.MessageType == WebSocketMessageType.Close) return null;
            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage) return JsonNode.Parse(message.ToArray())!.AsObject();
        }
    }

    /// <summary>Events until the one for <paramref name="objectId"/> with this op (included); fails on an error frame.</summary>
    public async Task<List<JsonObject>> UntilAsync(string op, string objectId)
    {
        var frames = new List<JsonObject>();
        while (true)
        {
            var frame = await NextAsync();
            frames.Add(frame);
            if (frame["op"]?.GetValue<string>() == op && frame["object"]?["objectId"]?.GetValue<string>() == objectId) return frames;
        }
    }

    /// <summary>Expects the server to close the socket (after any frames, which are returned).</summary>
    public async Task<List<JsonObject>> ClosedAsync()
    {
        var frames = new List<JsonObject>();
        while (await TryNextAsync() is { } frame) frames.Add(frame);
        return frames;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(5000);
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            // already gone
        }
        _socket.Dispose();
    }
}
