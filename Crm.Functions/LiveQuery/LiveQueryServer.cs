using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Users;
using Crm.Functions.Http;
using Crm.Functions.Realtime;
using Microsoft.Extensions.Options;

namespace Crm.Functions.LiveQuery;

/// <summary>
/// The Parse LiveQuery protocol over any transport that carries text frames (the WebSocket at the mount path here;
/// Azure Web PubSub in Azure). It decides nothing on its own:
/// <list type="bullet">
/// <item>who a socket and each subscription read as: <see cref="RequestAuthenticator"/>, as for every door (application id,
/// client keys, master key with its address restriction, session tokens);</item>
/// <item>whether a subscription may exist: <see cref="SubscriptionFilter"/>, the REST find's answer (class, CLP find or get
/// with roles and requiresAuthentication, protected fields anywhere in the where, $or included) — plus protected fields in
/// <c>keys</c> and <c>watch</c>, which would otherwise reveal them through what is sent or when;</item>
/// <item>which event each subscription gets: <see cref="SubscriberEvaluation"/> and <see cref="RealtimeFanout"/>, the
/// SignalR door's own decision (ACL with roles, CLP, pointer permissions, protected fields stripped per object), on a
/// queue per socket (<see cref="RecipientQueues"/>) so that one slow socket or filter delays nobody else.</item>
/// </list>
/// Sessions end their subscriptions: <see cref="SessionService.Ended"/> (logout, password change, deletion) at once, and
/// <see cref="LiveQuerySessions"/> periodically for expiry and for sessions ended on another instance.
/// </summary>
internal sealed class LiveQueryServer(
    RequestAuthenticator authenticator,
    ParseDoor door,
    DataService data,
    SessionService sessions,
    SubscriptionFilter filters,
    RealtimeFanout fanout,
    SubscriberEvaluation evaluation,
    RecipientQueues queues,
    IOptions<LiveQuerySettings> options,
    ILogger<LiveQueryServer> log)
{
    private readonly LiveQuerySettings _settings = options.Value;
    private readonly ConcurrentDictionary<string, LiveQueryConnection> _connections = new(StringComparer.Ordinal);
    private readonly Lock _admitting = new();

    public IEnumerable<LiveQueryConnection> Connections => _connections.Values;

    /// <summary>
    /// Whether a change may concern a socket here (the change pump skips it otherwise). Called on the write path, so it
    /// only asks whether any socket is open; <see cref="Publish(ObjectChange, CancellationToken)"/> picks the subscriptions of the class.
    /// </summary>
    public bool HasConnections => !_connections.IsEmpty;

    /// <summary>A new socket; null (after an error frame and a close) when its address already has too many.</summary>
    public LiveQueryConnection? Open(string id, ILiveQueryTransport transport, IPAddress? remoteIp)
    {
        var connection = new LiveQueryConnection(id, transport, remoteIp);
        lock (_admitting)
        {
            if (_connections.Values.Count(c => Equals(c.RemoteIp, remoteIp)) < _settings.MaxConnectionsPerIp)
            {
                _connections[id] = connection;
                return connection;
            }
        }
        transport.TrySend(LiveQueryFrames.Error(connection, ParseError.RequestLimitExceeded,
            $"At most {_settings.MaxConnectionsPerIp} LiveQuery connections per address (LiveQuery:MaxConnectionsPerIp).", false, null));
        transport.Close("too many connections from this address");
        return null;
    }

    public void Closed(string id)
    {
        if (!_connections.TryRemove(id, out var connection)) return;
        foreach (var subscription in connection.Subscriptions.Values) filters.Forget(subscription.Id);
    }

    /// <summary>Handles one client frame, in the order the socket received them; every failure becomes an error frame.</summary>
    public async Task ReceiveAsync(LiveQueryConnection c, string text, CancellationToken ct)
    {
        long? requestId = null;
        try
        {
            var message = LiveQueryFrames.Parse(text);
            requestId = message["requestId"] is JsonValue v && v.TryGetValue(out long id) ? id : null;
            switch (LiveQueryFrames.Op(message))
            {
                case "connect":
                    await ConnectAsync(c, LiveQueryFrames.Connect(message), ct);
                    break;
                case "subscribe":
                    await SubscribeAsync(c, LiveQueryFrames.Subscribe(message), update: false, ct);
                    break;
                case "update":
                    await SubscribeAsync(c, LiveQueryFrames.Subscribe(message), update: true, ct);
                    break;
                case "unsubscribe":
                    Unsubscribe(c, LiveQueryFrames.Unsubscribe(message));
                    break;
                case "query":
                    await QueryAsync(c, LiveQueryFrames.Query(message), ct);
                    break;
                case var op:
                    // As parse-server's schema check answers it (code 1, as any other invalid frame).
                    throw LiveQueryError.Shape($"No enum match for: \"{Names.Truncate(op ?? "")}\"", requestId);
            }
        }
        catch (LiveQueryError e)
        {
            c.Transport.TrySend(LiveQueryFrames.Error(c, e.Code, e.Message, e.Reconnect, e.RequestId ?? requestId));
        }
        catch (UnauthorizedException)
        {
            c.Transport.TrySend(LiveQueryFrames.Error(c, 4, "Key in request is not valid", false, requestId));
        }
        catch (ParseException e)
        {
            c.Transport.TrySend(LiveQueryFrames.Error(c, e.Code, e.Message, false, requestId));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogError(e, "A LiveQuery frame failed");
            c.Transport.TrySend(LiveQueryFrames.Error(c, ParseError.InternalServerError, "Internal server error.", true, requestId));
        }
    }

    private async Task ConnectAsync(LiveQueryConnection c, Dictionary<string, string> frame, CancellationToken ct)
    {
        string? Value(string key) => frame.GetValueOrDefault(key) is { Length: > 0 } s ? s : null;
        var credentials = new Credentials(
            Value("applicationId"), Value("masterKey"), Value("sessionToken"), Value("installationId"),
            Value("javascriptKey") ?? Value("clientKey") ?? Value("restAPIKey") ?? Value("windowsKey"));
        var caller = await CallerAsync(credentials, c.RemoteIp, ct);
        lock (_admitting)
        {
            if (caller.UserId is { } userId
                && _connections.Values.Count(o => o != c && o.IsConnected && o.Caller.UserId == userId) >= _settings.MaxConnectionsPerUser)
                throw new LiveQueryError(ParseError.RequestLimitExceeded,
                    $"At most {_settings.MaxConnectionsPerUser} LiveQuery connections per user (LiveQuery:MaxConnectionsPerUser).");
            // A second connect on the same socket starts over, as with parse-server: new client id, no subscriptions.
            foreach (var key in c.Subscriptions.Keys)
                if (c.Subscriptions.TryRemove(key, out var dropped)) filters.Forget(dropped.Id);
            c.Credentials = credentials;
            c.Caller = caller;
            c.InstallationId = credentials.InstallationId;
            c.ClientId = Guid.NewGuid().ToString();
        }
        c.Transport.TrySend(LiveQueryFrames.Connected(c));
    }

    /// <summary>The caller behind a socket's keys and a session token, by the one authenticator every door uses.</summary>
    private async Task<LiveCaller> CallerAsync(Credentials credentials, IPAddress? remoteIp, CancellationToken ct)
    {
        var auth = await authenticator.AuthenticateAsync(credentials, remoteIp, SessionTokenUse.Resolve, ct);
        if (auth.IsMaster) return LiveCaller.Master;
        if (auth.UserId is null) return LiveCaller.Anonymous;
        var session = credentials.SessionToken is { } token ? await sessions.ResolveAsync(token, ct) : null;
        return new LiveCaller(false, auth.UserId, session?.ObjectId,
            session is not null && ParseDates.TryNormalize(session.ExpiresAt, out var iso) ? ParseDates.Parse(iso) : null);
    }

    private async Task SubscribeAsync(LiveQueryConnection c, SubscribeFrame frame, bool update, CancellationToken ct)
    {
        if (!c.IsConnected)
            throw new LiveQueryError(2, "Can not find this client, make sure you connect to server before subscribing", true, frame.RequestId);
        if (update && !c.Subscriptions.ContainsKey(frame.RequestId))
            throw new LiveQueryError(2, $"Cannot find subscription with clientId {c.ClientId} subscriptionId {frame.RequestId}. Make sure you subscribe to live query server before updating.", true, frame.RequestId);
        try
        {
            // A subscription's own session token replaces the socket's for this subscription, checked with the socket's keys.
            var caller = frame.SessionToken is { } token ? await CallerAsync(c.Credentials with { SessionToken = token, MasterKey = null }, c.RemoteIp, ct) : c.Caller;
            var auth = await AuthAsync(caller, c.RemoteIp, ct);
            if (_settings.ClassNames.Count > 0 && !_settings.ClassNames.Contains(frame.ClassName, StringComparer.Ordinal))
                throw new ParseException(ParseError.OperationForbidden, $"Class {Names.Truncate(frame.ClassName)} is not open to LiveQuery (LiveQuery:ClassNames).");
            var whereJson = frame.Where?.ToJsonString();
            using (door.OpenBudget(auth, c.RemoteIp))
            {
                filters.EnsureSize(whereJson);
                filters.Parse(auth, frame.ClassName, frame.Where);
                EnsureSelectable(auth, fanout.Schema(frame.ClassName)!, frame.Keys, frame.Watch);
            }
            if (!update && !c.Subscriptions.ContainsKey(frame.RequestId) && c.Subscriptions.Count >= _settings.MaxSubscriptionsPerConnection)
                throw new ParseException(ParseError.RequestLimitExceeded,
                    $"At most {_settings.MaxSubscriptionsPerConnection} subscriptions per LiveQuery connection (LiveQuery:MaxSubscriptionsPerConnection).");
            var subscription = new LiveSubscription(ObjectIds.New(), frame.RequestId, frame.ClassName, whereJson, frame.Keys, frame.Watch, caller);
            if (c.Subscriptions.TryGetValue(frame.RequestId, out var replaced)) filters.Forget(replaced.Id);
            c.Subscriptions[frame.RequestId] = subscription;
            c.Transport.TrySend(LiveQueryFrames.Subscribed(c, frame.RequestId));
        }
        catch (ParseException e)
        {
            throw new LiveQueryError(e.Code, e.Message, false, frame.RequestId);
        }
        catch (UnauthorizedException)
        {
            throw new LiveQueryError(4, "Key in request is not valid", false, frame.RequestId);
        }
    }

    /// <summary>
    /// <c>keys</c> and <c>watch</c> naming a protected field are refused (119) like a where on it: the field's value would
    /// not be sent, but events arriving exactly when it changes would tell it.
    /// </summary>
    private static void EnsureSelectable(Auth auth, ClassSchema schema, IReadOnlyList<string>? keys, IReadOnlyList<string>? watch)
    {
        foreach (var field in (keys ?? []).Concat(watch ?? []))
            AccessPolicy.EnsureQueryable(auth, schema, field.Split('.')[0]);
    }

    private void Unsubscribe(LiveQueryConnection c, long requestId)
    {
        if (!c.IsConnected)
            throw new LiveQueryError(2, "Can not find this client, make sure you connect to server before unsubscribing", true, requestId);
        if (!c.Subscriptions.TryRemove(requestId, out var removed))
            throw new LiveQueryError(2, $"Cannot find subscription with clientId {c.ClientId} subscriptionId {requestId}. Make sure you subscribe to live query server before unsubscribing.", true, requestId);
        filters.Forget(removed.Id);
        c.Transport.TrySend(LiveQueryFrames.Unsubscribed(c, requestId));
    }

    /// <summary>
    /// <c>query</c>: the subscription's current matches, found by the REST find itself — the same where and keys, as the
    /// subscription's caller, on that caller's budget — so it can answer nothing the caller could not ask over REST.
    /// parse-server 9.10 refuses this op; the JS SDK sends it for <c>subscription.find()</c>.
    /// </summary>
    private async Task QueryAsync(LiveQueryConnection c, long requestId, CancellationToken ct)
    {
        if (!c.IsConnected)
            throw new LiveQueryError(2, "Can not find this client, make sure you connect to server before querying", true, requestId);
        if (!c.Subscriptions.TryGetValue(requestId, out var subscription))
            throw new LiveQueryError(2, $"Cannot find subscription with clientId {c.ClientId} subscriptionId {requestId}. Make sure you subscribe to live query server before querying.", true, requestId);
        var auth = await AuthAsync(subscription.Caller, c.RemoteIp, ct);
        FindResult found;
        try
        {
            using (door.OpenBudget(auth, c.RemoteIp))
                found = await data.FindAsync(auth, subscription.ClassName, new FindRequest
                {
                    Where = subscription.WhereJson is { } where ? JsonNode.Parse(where) : null,
                    Keys = subscription.Keys,
                }, ct);
        }
        catch (ParseException e)
        {
            throw new LiveQueryError(e.Code, e.Message, false, requestId);
        }
        var results = new JsonArray();
        foreach (var obj in found.Results)
        {
            obj["className"] = subscription.ClassName;
            results.Add(obj);
        }
        c.Transport.TrySend(LiveQueryFrames.Result(c, requestId, results));
    }

    /// <summary>The caller as of now: a user's roles are looked up again (through the role cache), so a role change applies.</summary>
    private async Task<Auth> AuthAsync(LiveCaller caller, IPAddress? remoteIp, CancellationToken ct) =>
        caller.IsMaster ? Auth.Master
        : caller.UserId is { } userId ? (await fanout.AuthForAsync(userId, ct)).At(remoteIp?.ToString())
        : Auth.Anonymous.At(remoteIp?.ToString());

    // ---- events ---------------------------------------------------------------------------------------

    /// <summary>
    /// Queues the events of one committed change for every subscription to its class, grouped by caller: one queue per
    /// user (per address for anonymous callers), so the caller's sockets get their events in commit order, and deciding
    /// for one caller never waits for another. Identical subscriptions of one caller (the same where, keys and watch on
    /// several sockets, as every tab of an app has) are decided once.
    /// </summary>
    public void Publish(ObjectChange change, CancellationToken ct) => Publish(change, _connections.Values, ct);

    /// <summary>
    /// As <see cref="Publish(ObjectChange, CancellationToken)"/>, for connections held elsewhere (Azure Web PubSub's,
    /// loaded from the store for this change): the same decisions, sent through their own transport.
    /// </summary>
    public void Publish(ObjectChange change, IEnumerable<LiveQueryConnection> connections, CancellationToken ct)
    {
        if (fanout.Schema(change.ClassName) is not { } schema) return;
        var byCaller = new Dictionary<string, List<(LiveQueryConnection Connection, LiveSubscription Subscription)>>(StringComparer.Ordinal);
        foreach (var connection in connections)
            foreach (var subscription in connection.Subscriptions.Values)
            {
                if (subscription.ClassName != change.ClassName) continue;
                var key = subscription.Caller.UserId is null && !subscription.Caller.IsMaster
                    ? "anonymous|" + connection.RemoteIp
                    : subscription.Caller.Key;
                if (!byCaller.TryGetValue(key, out var members)) byCaller[key] = members = [];
                members.Add((connection, subscription));
            }
        foreach (var (key, members) in byCaller)
        {
            var own = change.Copy();
            queues.Enqueue("livequery:" + key, async () =>
            {
                await Task.Yield(); // off the pump's loop even when the queue is empty
                await DeliverAsync(members, schema, own, ct);
            });
        }
    }

    private async Task DeliverAsync(List<(LiveQueryConnection Connection, LiveSubscription Subscription)> members, ClassSchema schema,
        ObjectChange change, CancellationToken ct)
    {
        var auth = await AuthAsync(members[0].Subscription.Caller, members[0].Connection.RemoteIp, ct);
        var alike = members.GroupBy(m => (m.Subscription.WhereJson, Keys: Joined(m.Subscription.Keys), Watch: Joined(m.Subscription.Watch)))
            .ToDictionary(g => g.First().Subscription.Id, g => g.ToList(), StringComparer.Ordinal);
        var toDecide = alike.Select(pair => pair.Value[0].Subscription).Select(s => new SubscriptionToDecide(s.Id, () =>
        {
            // Re-validated with the caller's current roles and the current schema: a field that became protected, or a
            // find the CLP now refuses, silences the subscription as REST would refuse the same query.
            var filter = filters.Cached(s.Id, auth, s.ClassName, s.WhereJson);
            EnsureSelectable(auth, schema, s.Keys, s.Watch);
            return filter;
        })).ToList();
        foreach (var outcome in await evaluation.DecideAsync(auth, schema, change, toDecide, ct))
        {
            foreach (var (c, subscription) in alike[outcome.SubscriptionId])
            {
                if (outcome.Failed)
                {
                    c.Subscriptions.TryRemove(new KeyValuePair<long, LiveSubscription>(subscription.RequestId, subscription));
                    c.Transport.Ended(subscription);
                    c.Transport.TrySend(LiveQueryFrames.Error(c, outcome.Payload["code"]!.GetValue<int>(), outcome.Payload["error"]!.GetValue<string>(), false, subscription.RequestId));
                    continue;
                }
                if (EventFrame(c, subscription, auth, schema, change, outcome.Payload) is { } frame) c.Transport.TrySend(frame);
            }
        }
    }

    private static string? Joined(IReadOnlyList<string>? names) => names is null ? null : string.Join('\n', names);

    /// <summary>
    /// The LiveQuery event for a decided payload: <c>original</c> on update, enter and leave — but only a state the
    /// subscriber could read (an object that became readable shows no earlier state; one that became unreadable shows
    /// only its last readable state) — <c>keys</c> applied, and create/update dropped when no watched field changed.
    /// </summary>
    private string? EventFrame(LiveQueryConnection c, LiveSubscription s, Auth auth, ClassSchema schema, ObjectChange change, JsonObject payload)
    {
        var op = payload["op"]!.GetValue<string>();
        var obj = (JsonObject)payload["object"]!.DeepClone();
        var original = payload["original"]?.DeepClone() as JsonObject;
        if (op is "enter" or "leave" && change.Before is not null && change.After is not null)
        {
            var readable = RealtimeFanout.ReadabilityOf(auth, schema, change);
            if (readable.Before && readable.After)
            {
                obj = fanout.Render(auth, schema, change.After);
                original = fanout.Render(auth, schema, change.Before);
            }
        }
        if (s.Watch is { } watch && op is "create" or "update"
            && !watch.Any(f => !JsonNode.DeepEquals(obj[f], original?[f])))
            return null;
        return LiveQueryFrames.Event(c, op, s.RequestId, Shape(obj, s.Keys), original is null ? null : Shape(original, s.Keys));
    }

    /// <summary>What the SDKs build objects from: className, objectId, dates and ACL always, <c>keys</c> limiting the rest.</summary>
    private static JsonObject Shape(JsonObject obj, IReadOnlyList<string>? keys)
    {
        if (keys is not null)
            foreach (var field in obj.Select(p => p.Key).ToList())
                if (field is not ("className" or "objectId" or "createdAt" or "updatedAt" or "ACL") && !keys.Contains(field, StringComparer.Ordinal))
                    obj.Remove(field);
        obj["__type"] = "Object";
        return obj;
    }

    // ---- sessions -------------------------------------------------------------------------------------

    /// <summary>
    /// A session ended (logout, password change, deletion, expiry): sockets connected with it get error 209 and are
    /// closed; subscriptions made with it on other sockets get error 209 and are removed.
    /// </summary>
    public void SessionEnded(string sessionId)
    {
        foreach (var c in _connections.Values)
        {
            if (c.Caller.SessionId == sessionId)
            {
                c.Transport.TrySend(LiveQueryFrames.Error(c, ParseError.InvalidSessionToken, "Invalid session token", false, null));
                c.Transport.Close("the session ended");
                continue;
            }
            foreach (var s in c.Subscriptions.Values.Where(s => s.Caller.SessionId == sessionId))
            {
                if (!c.Subscriptions.TryRemove(new KeyValuePair<long, LiveSubscription>(s.RequestId, s))) continue;
                filters.Forget(s.Id);
                c.Transport.TrySend(LiveQueryFrames.Error(c, ParseError.InvalidSessionToken, "Invalid session token", false, s.RequestId));
            }
        }
    }

    /// <summary>The sessions in use and when each ends, for the periodic check.</summary>
    public IEnumerable<(string SessionId, DateTimeOffset? Until)> SessionsInUse() =>
        _connections.Values.SelectMany(c => c.Subscriptions.Values.Select(s => s.Caller).Append(c.Caller))
            .Where(caller => caller.SessionId is not null)
            .Select(caller => (caller.SessionId!, caller.Until))
            .Distinct();
}
