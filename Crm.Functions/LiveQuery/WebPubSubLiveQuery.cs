using System.Text;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Users;
using Crm.Functions.Http;
using Crm.Functions.Realtime;
using Microsoft.Extensions.Options;

namespace Crm.Functions.LiveQuery;

/// <summary>
/// The Parse LiveQuery protocol through Azure Web PubSub (serverless): the service holds the clients' sockets (a plain
/// WebSocket at <c>wss://{service}/client/hubs/{hub}</c>, anonymous connect) and calls the upstream endpoint
/// <c>/realtime/webpubsub</c> with each connection's events as CloudEvents; every decision is
/// <see cref="LiveQueryServer"/>'s, the WebSocket door's own. Per event:
/// <list type="bullet">
/// <item><c>OPTIONS</c>: the abuse-protection handshake, answered for the configured service only;</item>
/// <item><c>azure.webpubsub.sys.connect</c>: accepted (who the client is comes from its LiveQuery <c>connect</c> frame);</item>
/// <item><c>azure.webpubsub.user.message</c>: one LiveQuery frame, handled on a connection loaded from the store; the
/// answer (<c>connected</c>, <c>subscribed</c>, <c>error</c>, …) is the response body, which the service sends back as a frame;
/// what the frame changed is saved (<see cref="WebPubSubConnections"/>);</item>
/// <item><c>azure.webpubsub.sys.disconnected</c>: the connection's state is dropped.</item>
/// </list>
/// Events of committed writes reach these connections through the REST API (<see cref="PublishAsync"/>, called by the
/// write path on whichever instance wrote); sessions that end close their connections the same way.
/// </summary>
internal sealed class WebPubSubLiveQuery(
    WebPubSubService service,
    WebPubSubUpstream upstream,
    WebPubSubConnections connections,
    LiveQueryServer server,
    RecipientQueues queues,
    WebPubSubSettings settings,
    IOptions<LiveQuerySettings> liveQueryOptions,
    ILogger<WebPubSubLiveQuery> log)
{
    public const string Path = "/realtime/webpubsub";
    private const string Prefix = "azure.webpubsub.";
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    public string ClientUrl => service.ClientUrl;

    /// <summary>Serves one upstream request, through <see cref="ParseDoor"/> (its error answers and a budget); the caller is the service, checked here.</summary>
    public Task ServeAsync(HttpContext context, ParseDoor door) =>
        door.ServeAsync(context, SessionTokenUse.Ignore, async (_, ct) =>
        {
            RequestTelemetry.Describe(context, "livequery", Path);
            var request = context.Request;
            if (HttpMethods.IsOptions(request.Method))
            {
                context.Response.Headers["WebHook-Allowed-Origin"] = WebPubSubUpstream.AllowedOrigin(request, service.Host);
                return new ApiResult(200, new JsonObject());
            }
            var connectionId = Header(request, "ce-connectionId");
            if (connectionId is null || connectionId.Length > 256)
                throw new ParseException(ParseError.InvalidJson, "A CloudEvent with a ce-connectionId is expected.", 401);
            await upstream.ValidateAsync(request, connectionId, ct);
            if (!string.Equals(Header(request, "ce-hub"), settings.Hub, StringComparison.OrdinalIgnoreCase))
                throw new ParseException(ParseError.InvalidJson, $"This endpoint serves the hub {settings.Hub} only.");
            switch (Header(request, "ce-type"))
            {
                case Prefix + "sys.connect":
                    // Anyone may open a socket; the LiveQuery connect frame says who it is, as on the WebSocket door.
                    return new ApiResult(200, new JsonObject());
                case Prefix + "sys.connected":
                    context.Response.StatusCode = 204;
                    return null;
                case Prefix + "sys.disconnected":
                    await connections.DropAsync(connectionId, ct);
                    context.Response.StatusCode = 204;
                    return null;
                case Prefix + "user.message":
                    await MessageAsync(context, connectionId, ct);
                    return null;
                default:
                    throw new ParseException(ParseError.InvalidJson, "Unknown ce-type.");
            }
        }, caller: Auth.Anonymous);

    /// <summary>One client frame: handled on the stored connection; the first answer is the response body, anything after it goes through the REST API.</summary>
    private async Task MessageAsync(HttpContext context, string connectionId, CancellationToken ct)
    {
        var answers = new ResponseTransport();
        var connection = await connections.LoadAsync(connectionId, answers, ct);
        var clientIdBefore = connection.ClientId;
        var before = connection.Subscriptions.ToDictionary(p => p.Key, p => p.Value);
        var frameLimit = liveQueryOptions.Value.MaxFrameBytes;
        var body = await ReadAsync(context.Request.Body, frameLimit, ct);
        if (body is null)
        {
            answers.TrySend(LiveQueryFrames.Error(connection, ParseError.ObjectTooLarge,
                $"A frame may have at most {frameLimit} bytes (LiveQuery:MaxFrameBytes).", false, null));
            answers.Close("frame too large");
        }
        else if (!(context.Request.ContentType ?? "").StartsWith("text/plain", StringComparison.OrdinalIgnoreCase))
        {
            answers.TrySend(LiveQueryFrames.Error(connection, 1, "Frames must be text (JSON).", true, null));
        }
        else
        {
            string? text = null;
            try
            {
                text = StrictUtf8.GetString(body);
            }
            catch (DecoderFallbackException)
            {
                answers.TrySend(LiveQueryFrames.Error(connection, 1, "The frame is not valid UTF-8.", true, null));
            }
            if (text is not null)
            {
                await server.ReceiveAsync(connection, text, ct);
                await connections.SaveAsync(connection, clientIdBefore, before, ct);
            }
        }

        var frames = answers.Frames;
        if (frames.Count > 0)
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync(frames[0], ct);
        }
        else context.Response.StatusCode = 204;
        // Rare: a frame that answers twice, or an answer followed by a close (after the response, so they follow it).
        var later = Transport(connectionId);
        foreach (var frame in frames.Skip(1)) later.TrySend(frame);
        if (answers.CloseReason is { } reason) later.Close(reason);
    }

    /// <summary>The request body, or null when it is larger than <paramref name="limit"/> bytes.</summary>
    private static async Task<byte[]?> ReadAsync(Stream body, int limit, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > limit) return null;
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private static string? Header(HttpRequest request, string name) =>
        request.Headers.TryGetValue(name, out var values) && values.Count == 1 && !string.IsNullOrEmpty(values[0]) ? values[0] : null;

    // ---- events and session ends -----------------------------------------------------------------------

    /// <summary>
    /// The events of one committed change for the Web PubSub connections subscribed to its class: decided by
    /// <see cref="LiveQueryServer"/> exactly as for its sockets, and sent through the REST API.
    /// </summary>
    public async Task PublishAsync(ObjectChange change, CancellationToken ct)
    {
        var stored = await connections.ForClassAsync(change.ClassName, ct);
        if (stored.Count == 0) return;
        var byConnection = new List<LiveQueryConnection>();
        foreach (var group in stored.GroupBy(s => s.ConnectionId, StringComparer.Ordinal))
        {
            var first = group.First();
            var connection = new LiveQueryConnection(group.Key, Transport(group.Key), null) { ClientId = first.ClientId, InstallationId = first.InstallationId };
            foreach (var s in group) connection.Subscriptions[s.Subscription.RequestId] = s.Subscription;
            byConnection.Add(connection);
        }
        server.Publish(change, byConnection, ct);
    }

    /// <summary>
    /// A session ended (logout, password change, deletion, expiry): connections connected with it get error 209 and are
    /// closed; subscriptions made with it on other connections get error 209 and are removed — as on the WebSocket door.
    /// </summary>
    public async Task SessionEndedAsync(string sessionId, CancellationToken ct)
    {
        foreach (var use in await connections.SessionsAsync(sessionId, ct))
        {
            var frameOf = new LiveQueryConnection(use.ConnectionId, NoTransport.Instance, null) { ClientId = use.ClientId, InstallationId = use.InstallationId };
            var error = LiveQueryFrames.Error(frameOf, ParseError.InvalidSessionToken, "Invalid session token", false, use.RequestId);
            var transport = Transport(use.ConnectionId);
            if (use.RequestId is { } requestId)
            {
                await connections.RemoveAsync(use.ConnectionId, requestId, ct);
                transport.TrySend(error);
                continue;
            }
            await connections.DropAsync(use.ConnectionId, ct);
            transport.TrySend(error);
            transport.Close("the session ended");
        }
    }

    /// <summary>The sessions in use by Web PubSub connections, for the periodic check of expiry and of ends on other instances.</summary>
    public async Task<IEnumerable<(string SessionId, DateTimeOffset? Until)>> SessionsInUseAsync(CancellationToken ct) =>
        (await connections.SessionsAsync(null, ct)).Select(u => (u.SessionId, u.Until)).Distinct();

    /// <summary>Frames to one connection through the REST API, in order, on the connection's own queue (a slow call delays nobody else).</summary>
    private ServiceTransport Transport(string connectionId) => new(queues, service, connections, connectionId);

    private sealed class ServiceTransport(RecipientQueues queues, WebPubSubService service, WebPubSubConnections connections, string connectionId) : ILiveQueryTransport
    {
        private string Queue => "webpubsub:" + connectionId;

        public bool TrySend(string frame)
        {
            queues.Enqueue(Queue, async () =>
            {
                // 404: the service no longer has the connection (its disconnected event was lost): forget it.
                if (!await service.SendAsync(connectionId, frame, CancellationToken.None))
                    await connections.DropAsync(connectionId, CancellationToken.None);
            });
            return true;
        }

        public void Close(string reason) =>
            queues.Enqueue(Queue, async () =>
            {
                await service.CloseAsync(connectionId, reason, CancellationToken.None);
                await connections.DropAsync(connectionId, CancellationToken.None);
            });

        public void Ended(LiveSubscription subscription) =>
            queues.Enqueue(Queue, () => connections.RemoveAsync(connectionId, subscription.RequestId, CancellationToken.None));
    }

    /// <summary>What one upstream message answers: collected for the response body.</summary>
    private sealed class ResponseTransport : ILiveQueryTransport
    {
        public List<string> Frames { get; } = [];
        public string? CloseReason { get; private set; }

        public bool TrySend(string frame)
        {
            lock (Frames) Frames.Add(frame);
            return true;
        }

        public void Close(string reason) => CloseReason ??= reason;
    }

    private sealed class NoTransport : ILiveQueryTransport
    {
        public static readonly NoTransport Instance = new();
        public bool TrySend(string frame) => false;
        public void Close(string reason) { }
    }

    internal void LogFailure(Exception e, string what) => log.LogWarning(e, "Web PubSub LiveQuery: {What} failed", what);
}

/// <summary>
/// Ends Web PubSub LiveQuery connections and subscriptions with their sessions: at once when a session ends on this
/// instance, and every <see cref="RealtimeSettings.SessionCheckSeconds"/> for expiry and ends elsewhere.
/// </summary>
internal sealed class WebPubSubSessions(WebPubSubLiveQuery door, SessionService sessions, IOptions<RealtimeSettings> options, TimeProvider time)
    : BackgroundService
{
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        sessions.Ended += OnEnded;
        return base.StartAsync(cancellationToken);
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        sessions.Ended -= OnEnded;
        return base.StopAsync(cancellationToken);
    }

    private void OnEnded(SessionInfo session) => _ = EndAsync(session.ObjectId);

    private async Task EndAsync(string sessionId)
    {
        try
        {
            await door.SessionEndedAsync(sessionId, CancellationToken.None);
        }
        catch (Exception e)
        {
            door.LogFailure(e, "ending a session's connections");
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, options.Value.SessionCheckSeconds)), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    var now = time.GetUtcNow();
                    foreach (var (sessionId, until) in (await door.SessionsInUseAsync(stoppingToken)).ToList())
                        if (until <= now || await sessions.FindByIdAsync(sessionId, stoppingToken) is null)
                            await door.SessionEndedAsync(sessionId, stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    door.LogFailure(e, "checking sessions");
                }
            }
        }
        catch (OperationCanceledException)
        {
            // shutting down
        }
    }
}
