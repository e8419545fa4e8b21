using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;
using Crm.Functions.Core;
using Microsoft.Extensions.Options;

namespace Crm.Functions.LiveQuery;

/// <summary>
/// The LiveQuery WebSocket at the mount path (<c>ws://host/parse</c>), where the Parse SDKs look for it when they are
/// given only the server URL (parse-server serves it there when LiveQuery shares the HTTP server). Only upgrade
/// requests come here; plain HTTP requests on the mount path stay with the REST API.
/// </summary>
internal static class LiveQueryWebSockets
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    public static void MapLiveQuery(this WebApplication app)
    {
        var mountPath = app.Services.GetRequiredService<IOptions<ParseSettings>>().Value.MountPath;
        var settings = app.Services.GetRequiredService<IOptions<LiveQuerySettings>>().Value;
        app.UseWhen(context => IsUpgrade(context.Request) && IsMountPath(context.Request.Path, mountPath),
            branch =>
            {
                // Pings keep idle sockets open through proxies and find dead ones: no pong within the timeout closes the socket.
                branch.UseWebSockets(new WebSocketOptions
                {
                    KeepAliveInterval = TimeSpan.FromSeconds(settings.PingSeconds),
                    KeepAliveTimeout = TimeSpan.FromSeconds(2 * settings.PingSeconds),
                });
                branch.Use(async (context, next) =>
                {
                    if (!context.WebSockets.IsWebSocketRequest || !IsMountPath(context.Request.Path, mountPath))
                    {
                        await next(context);
                        return;
                    }
                    await ServeAsync(context, context.RequestServices.GetRequiredService<LiveQueryServer>(), settings);
                });
            });
    }

    private static bool IsUpgrade(HttpRequest request) =>
        request.Headers.Upgrade.ToString().Equals("websocket", StringComparison.OrdinalIgnoreCase);

    private static bool IsMountPath(PathString path, string mountPath) =>
        path.StartsWithSegments(mountPath, StringComparison.Ordinal, out var rest) && (!rest.HasValue || rest.Value == "/");

    private static async Task ServeAsync(HttpContext context, LiveQueryServer server, LiveQuerySettings settings)
    {
        Http.RequestTelemetry.Describe(context, "livequery", context.Request.Path.Value ?? "/");
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var transport = new SocketTransport(socket, settings.MaxPendingFrames);
        var sending = transport.RunAsync();
        var connection = server.Open(context.TraceIdentifier, transport, context.Connection.RemoteIpAddress);
        try
        {
            if (connection is not null) await ReceiveAsync(socket, connection, server, settings, transport, context.RequestAborted);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            // the client went away
        }
        finally
        {
            if (connection is not null) server.Closed(connection.Id);
            transport.Close("done");
            await sending;
        }
    }

    /// <summary>Reads frames one at a time and handles each before the next: clients send connect and subscribe back to back.</summary>
    private static async Task ReceiveAsync(WebSocket socket, LiveQueryConnection connection, LiveQueryServer server, LiveQuerySettings settings,
        SocketTransport transport, CancellationToken ct)
    {
        var buffer = new ArrayBufferWriter<byte>();
        while (socket.State == WebSocketState.Open && !transport.Closing)
        {
            var result = await socket.ReceiveAsync(buffer.GetMemory(4096), ct);
            if (result.MessageType == WebSocketMessageType.Close) return;
            buffer.Advance(result.Count);
            if (buffer.WrittenCount > settings.MaxFrameBytes)
            {
                transport.TrySend(LiveQueryFrames.Error(connection, ParseError.ObjectTooLarge,
                    $"A frame may have at most {settings.MaxFrameBytes} bytes (LiveQuery:MaxFrameBytes).", false, null));
                transport.Close("frame too large", WebSocketCloseStatus.MessageTooBig);
                return;
            }
            if (!result.EndOfMessage) continue;
            if (result.MessageType == WebSocketMessageType.Binary)
            {
                transport.TrySend(LiveQueryFrames.Error(connection, 1, "Frames must be text (JSON).", true, null));
            }
            else
            {
                string text;
                try
                {
                    text = StrictUtf8.GetString(buffer.WrittenSpan);
                }
                catch (DecoderFallbackException)
                {
                    transport.TrySend(LiveQueryFrames.Error(connection, 1, "The frame is not valid UTF-8.", true, null));
                    buffer.ResetWrittenCount();
                    continue;
                }
                await server.ReceiveAsync(connection, text, ct);
            }
            buffer.ResetWrittenCount();
        }
    }

    /// <summary>
    /// A socket's outgoing frames: queued without waiting, written by one loop. A client more than the queue behind is
    /// closed (it reconnects and resubscribes): waiting for it would hold up whoever queued the frame.
    /// </summary>
    private sealed class SocketTransport(WebSocket socket, int capacity) : ILiveQueryTransport
    {
        private readonly Channel<string> _frames = Channel.CreateBounded<string>(new BoundedChannelOptions(Math.Max(1, capacity))
        {
            SingleReader = true, FullMode = BoundedChannelFullMode.Wait,
        });
        private WebSocketCloseStatus _status = WebSocketCloseStatus.NormalClosure;
        private string _reason = "";

        public bool Closing { get; private set; }

        public bool TrySend(string frame)
        {
            if (_frames.Writer.TryWrite(frame)) return true;
            Close("too far behind", WebSocketCloseStatus.PolicyViolation);
            return false;
        }

        public void Close(string reason) => Close(reason, WebSocketCloseStatus.NormalClosure);

        public void Close(string reason, WebSocketCloseStatus status)
        {
            lock (_frames)
            {
                if (Closing) return;
                Closing = true;
                _status = status;
                _reason = reason;
            }
            _frames.Writer.TryComplete();
        }

        public async Task RunAsync()
        {
            try
            {
                await foreach (var frame in _frames.Reader.ReadAllAsync())
                    await socket.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, true, CancellationToken.None);
                if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                    await socket.CloseOutputAsync(_status, _reason, timeout.Token);
                    // A client that never answers the close would keep the receive loop waiting: cut it off.
                    for (var i = 0; i < 50 && socket.State != WebSocketState.Closed; i++) await Task.Delay(100);
                    if (socket.State != WebSocketState.Closed) socket.Abort();
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                // the client went away
            }
            finally
            {
                Closing = true;
                // Frames queued after the end are dropped, never waited on.
                while (_frames.Reader.TryRead(out _)) { }
            }
        }
    }
}
