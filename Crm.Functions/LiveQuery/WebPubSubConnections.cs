using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Store;
using Crm.Functions.Http;

namespace Crm.Functions.LiveQuery;

/// <summary>
/// The state of LiveQuery connections held by Azure Web PubSub, in the store (server-internal, master-only class
/// <c>_LiveQuery</c>), keyed by the service's connection id: any instance may receive a connection's next frame, and
/// the one that makes a write — not the one the client spoke to — sends the events. One row per connection (what its
/// <c>connect</c> established: client id, installation id, application id and client key, the caller as user and session
/// — never a session token or the master key) and one per subscription (its query and caller, with the connection's
/// client and installation ids, so delivery reads only the subscriptions of the changed class). A connection's rows
/// share its partition. The delivery path reads a class's subscriptions through a short cache, as
/// <see cref="Realtime.SubscriptionStore"/> does: another instance sees a new or removed subscription within <see cref="CacheFor"/>.
/// </summary>
internal sealed class WebPubSubConnections(IObjectStore store, TimeProvider time)
{
    public const string ClassName = "_LiveQuery";
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private const int MaxRows = 10_000;

    private static readonly FieldDefinition Text = new(FieldType.String);
    private readonly ConcurrentDictionary<string, (IReadOnlyList<StoredSubscription> Items, DateTimeOffset Until)> _byClass = new(StringComparer.Ordinal);
    private long _generation;

    /// <summary>A stored subscription with what an event frame needs of its connection.</summary>
    public sealed record StoredSubscription(string ConnectionId, string? ClientId, string? InstallationId, LiveSubscription Subscription);

    /// <summary>A row that holds a session: a connection's own (<see cref="RequestId"/> null) or one subscription's.</summary>
    public sealed record SessionUse(string ConnectionId, string? ClientId, string? InstallationId, long? RequestId, string SessionId, DateTimeOffset? Until);

    /// <summary>The connection as stored, over <paramref name="transport"/>; a new, not yet connected one when nothing is stored.</summary>
    public async Task<LiveQueryConnection> LoadAsync(string connectionId, ILiveQueryTransport transport, CancellationToken ct)
    {
        var connection = new LiveQueryConnection(connectionId, transport, null);
        foreach (var row in await FindAsync(Equal("connection", connectionId), ct))
        {
            var state = State(row);
            if (state is null) continue;
            if (Kind(row) == "connection")
            {
                connection.ClientId = Str(state, "clientId");
                connection.InstallationId = Str(state, "installationId");
                connection.Credentials = new Credentials(Str(state, "appId"), null, null, connection.InstallationId, Str(state, "clientKey"));
                connection.Caller = CallerOf(state["caller"]);
            }
            else if (SubscriptionOf(state) is { } subscription)
            {
                connection.Subscriptions[subscription.RequestId] = subscription;
            }
        }
        return connection;
    }

    /// <summary>What a frame changed: the connection row when its <c>connect</c> ran, and the subscriptions added, replaced or removed.</summary>
    public async Task SaveAsync(LiveQueryConnection connection, string? clientIdBefore, IReadOnlyDictionary<long, LiveSubscription> before, CancellationToken ct)
    {
        var id = connection.Id;
        var changed = false;
        if (connection.ClientId is not null && connection.ClientId != clientIdBefore)
        {
            var state = new JsonObject
            {
                ["clientId"] = connection.ClientId,
                ["installationId"] = connection.InstallationId,
                ["appId"] = connection.Credentials.AppId,
                ["clientKey"] = connection.Credentials.ClientKey,
                ["caller"] = CallerJson(connection.Caller),
            };
            await UpsertAsync(id, RowId(id), "connection", null, connection.Caller, state, ct);
            changed = true;
        }
        foreach (var (requestId, old) in before)
            if (!connection.Subscriptions.TryGetValue(requestId, out var now) || !ReferenceEquals(now, old))
            {
                if (now is null) await store.DeleteAsync(ClassName, RowId(id, requestId), Equal("connection", id), ct);
                changed = true;
            }
        foreach (var (requestId, subscription) in connection.Subscriptions)
        {
            if (before.TryGetValue(requestId, out var old) && ReferenceEquals(old, subscription)) continue;
            var state = SubscriptionJson(subscription);
            state["clientId"] = connection.ClientId;
            state["installationId"] = connection.InstallationId;
            await UpsertAsync(id, RowId(id, requestId), "subscription", subscription.ClassName, subscription.Caller, state, ct);
            changed = true;
        }
        if (changed) Invalidate();
    }

    /// <summary>Removes one subscription (its session ended, or its filter failed on delivery).</summary>
    public async Task RemoveAsync(string connectionId, long requestId, CancellationToken ct)
    {
        await store.DeleteAsync(ClassName, RowId(connectionId, requestId), Equal("connection", connectionId), ct);
        Invalidate();
    }

    /// <summary>Removes everything of a connection (it disconnected, or the service no longer knows it).</summary>
    public async Task DropAsync(string connectionId, CancellationToken ct)
    {
        foreach (var row in await FindAsync(Equal("connection", connectionId), ct))
            await store.DeleteAsync(ClassName, row.ObjectId, Equal("connection", connectionId), ct);
        Invalidate();
    }

    /// <summary>The subscriptions to a class, over every connection, from a cache of <see cref="CacheFor"/>.</summary>
    public async Task<IReadOnlyList<StoredSubscription>> ForClassAsync(string className, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        if (_byClass.TryGetValue(className, out var cached) && cached.Until > now) return cached.Items;
        var generation = Interlocked.Read(ref _generation);
        var rows = await FindAsync(QueryNode.And(Equal("kind", "subscription"), Equal("targetClass", className)), ct);
        var items = rows.Select(row => (Row: row, State: State(row)))
            .Select(r => r.State is not null && SubscriptionOf(r.State) is { } s && Str(r.Row.Data, "connection") is { } connectionId
                ? new StoredSubscription(connectionId, Str(r.State, "clientId"), Str(r.State, "installationId"), s)
                : null)
            .OfType<StoredSubscription>().ToList();
        if (Interlocked.Read(ref _generation) == generation) _byClass[className] = (items, now + CacheFor);
        return items;
    }

    /// <summary>Every row that holds a session (connections and subscriptions), for session ends and the periodic check.</summary>
    public async Task<IReadOnlyList<SessionUse>> SessionsAsync(string? sessionId, CancellationToken ct)
    {
        QueryNode where = sessionId is null
            ? new ExistsNode(FieldRef.Of("session", Text), true)
            : Equal("session", sessionId);
        var uses = new List<SessionUse>();
        foreach (var row in await FindAsync(where, ct))
        {
            if (State(row) is not { } state || Str(row.Data, "connection") is not { } connectionId) continue;
            var caller = CallerOf(Kind(row) == "connection" ? state["caller"] : state["subscription"]?["caller"]);
            if (caller.SessionId is null) continue;
            long? requestId = Kind(row) == "connection" ? null : SubscriptionOf(state)?.RequestId;
            uses.Add(new SessionUse(connectionId, Str(state, "clientId"), Str(state, "installationId"), requestId, caller.SessionId, caller.Until));
        }
        return uses;
    }

    private async Task UpsertAsync(string connectionId, string rowId, string kind, string? targetClass, LiveCaller caller, JsonObject state, CancellationToken ct)
    {
        var now = ParseDates.Format(time.GetUtcNow());
        var data = new JsonObject { ["connection"] = connectionId, ["kind"] = kind, ["state"] = state.ToJsonString() };
        if (targetClass is not null) data["targetClass"] = targetClass;
        if (caller.UserId is not null) data["user"] = caller.UserId;
        if (caller.SessionId is not null) data["session"] = caller.SessionId;
        var updated = await store.UpdateAsync(ClassName, rowId, Equal("connection", connectionId), current =>
        {
            current.Data = (JsonObject)data.DeepClone();
            current.UpdatedAt = now;
            return ValueTask.FromResult<ObjectWrite?>(new ObjectWrite(current, []));
        }, ct);
        if (updated is not null) return;
        await store.InsertAsync(new StoredObject
        {
            ClassName = ClassName, ObjectId = rowId, OwnerId = RowId(connectionId),
            CreatedAt = now, UpdatedAt = now, Acl = new JsonObject(), Data = data,
        }, [], ct);
    }

    private void Invalidate()
    {
        Interlocked.Increment(ref _generation);
        _byClass.Clear();
    }

    private async Task<IReadOnlyList<StoredObject>> FindAsync(QueryNode where, CancellationToken ct) =>
        await store.FindAsync(new StoreQuery(ClassName, where, [], 0, MaxRows), ct);

    /// <summary>Row ids from the connection id (any characters the service uses) as 32 hex characters, a valid object id.</summary>
    private static string RowId(string connectionId, long? requestId = null) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(requestId is null ? connectionId : $"{connectionId}\n{requestId}")))[..32];

    private static CompareNode Equal(string field, string value) => new(FieldRef.Of(field, Text), CompareOp.Eq, new StringValue(value));

    private static string? Kind(StoredObject row) => Str(row.Data, "kind");

    private static JsonObject? State(StoredObject row)
    {
        try
        {
            return Str(row.Data, "state") is { } text ? JsonNode.Parse(text) as JsonObject : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static string? Str(JsonObject obj, string key) => obj[key] is JsonValue v && v.TryGetValue(out string? s) ? s : null;

    private static JsonObject CallerJson(LiveCaller caller) => new()
    {
        ["master"] = caller.IsMaster,
        ["user"] = caller.UserId,
        ["session"] = caller.SessionId,
        ["until"] = caller.Until is { } until ? ParseDates.Format(until) : null,
    };

    private static LiveCaller CallerOf(JsonNode? node)
    {
        if (node is not JsonObject o) return LiveCaller.Anonymous;
        var master = o["master"] is JsonValue m && m.TryGetValue(out bool isMaster) && isMaster;
        DateTimeOffset? until = Str(o, "until") is { } text && ParseDates.TryNormalize(text, out var iso) ? ParseDates.Parse(iso) : null;
        return new LiveCaller(master, Str(o, "user"), Str(o, "session"), until);
    }

    private static JsonObject SubscriptionJson(LiveSubscription s) => new()
    {
        ["subscription"] = new JsonObject
        {
            ["id"] = s.Id,
            ["requestId"] = s.RequestId,
            ["className"] = s.ClassName,
            ["where"] = s.WhereJson,
            ["keys"] = s.Keys is null ? null : new JsonArray([.. s.Keys.Select(k => (JsonNode?)k)]),
            ["watch"] = s.Watch is null ? null : new JsonArray([.. s.Watch.Select(k => (JsonNode?)k)]),
            ["caller"] = CallerJson(s.Caller),
        },
    };

    private static LiveSubscription? SubscriptionOf(JsonObject state)
    {
        if (state["subscription"] is not JsonObject s || Str(s, "id") is not { } id || Str(s, "className") is not { } className
            || s["requestId"] is not JsonValue r || !r.TryGetValue(out long requestId))
            return null;
        static IReadOnlyList<string>? Names(JsonNode? node) => node is JsonArray a ? [.. a.Select(n => n!.GetValue<string>())] : null;
        return new LiveSubscription(id, requestId, className, Str(s, "where"), Names(s["keys"]), Names(s["watch"]), CallerOf(s["caller"]));
    }
}
