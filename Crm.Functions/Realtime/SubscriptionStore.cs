using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Users;
using Crm.Functions.Core.Store;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Realtime;

/// <summary>
/// A subscription made through the HTTP door: its owner, class, where (JSON text as given), expiry, and the session
/// that made it (null for an Entra caller): it ends with that session.
/// </summary>
internal sealed record StoredSubscription(string Id, string UserId, string ClassName, string? Where, DateTimeOffset ExpiresAt, string? SessionId = null)
{
    /// <summary>The where as a fresh tree (JsonNode trees are not safe to share between threads, so none is cached).</summary>
    public JsonNode? WhereNode => Where is null ? null : JsonNode.Parse(Where);

    public JsonObject ToJson() => new()
    {
        ["subscriptionId"] = Id,
        ["className"] = ClassName,
        ["where"] = WhereNode,
        ["expiresAt"] = ParseDates.Format(ExpiresAt),
    };
}

/// <summary>
/// HTTP subscriptions in the store (server-internal, master-only class <c>_Subscription</c>, created at start with
/// the system classes and partitioned by owner), so that every instance — the change-feed function, the one that deletes, the one the client asked —
/// sees the same subscriptions; no instance keeps per-connection state (Azure SignalR Serverless has none for
/// us). Each lives <see cref="RealtimeSettings.SubscriptionHours"/> unless renewed, at most
/// <see cref="RealtimeSettings.MaxSubscriptionsPerUser"/> per user. The delivery path reads them per class
/// through a short cache: another instance sees a new or deleted subscription within <see cref="CacheFor"/>.
/// </summary>
internal sealed class SubscriptionStore(IObjectStore store, SubscriptionFilter filters, SessionService sessions, IOptions<RealtimeSettings> options, TimeProvider time)
{
    public const string ClassName = "_Subscription";
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);

    private static readonly FieldDefinition Text = new(FieldType.String);
    private readonly RealtimeSettings _settings = options.Value;
    private readonly ConcurrentDictionary<string, (IReadOnlyList<StoredSubscription> Items, DateTimeOffset Until)> _byClass = new(StringComparer.Ordinal);
    // Bumped on every change made here: a cache load that started before it must not be kept after it.
    private long _generation;

    /// <summary>
    /// Validates the filter for the caller and stores a new subscription, or — with <paramref name="renewId"/>, one of the
    /// caller's live subscriptions — replaces its class and where and restarts its lifetime. Returns it and whether it is new.
    /// </summary>
    public async Task<(StoredSubscription Subscription, bool Created)> SaveAsync(Auth auth, string className, JsonNode? where, string? renewId, CancellationToken ct)
    {
        var userId = auth.UserId ?? throw new ParseException(ParseError.InvalidSessionToken, "A user is required.");
        var whereJson = where?.ToJsonString();
        filters.EnsureSize(whereJson);
        var id = renewId ?? ObjectIds.New();
        // Validated and parsed once, here; deliveries on this instance reuse the parsed filter.
        filters.Cached(id, auth, className, whereJson);
        var sessionId = auth.SessionToken is { } token ? (await sessions.ResolveAsync(token, ct))?.ObjectId : null;
        var now = time.GetUtcNow();
        var own = await FindAsync(Equal("user", userId), ct);
        // Expired subscriptions are removed here, when their owner comes back, rather than by a sweeper.
        foreach (var expired in own.Where(s => s.ExpiresAt <= now)) await store.DeleteAsync(ClassName, expired.Id, OwnedBy(userId), ct);
        var live = own.Where(s => s.ExpiresAt > now).ToList();

        var subscription = new StoredSubscription(id, userId, className, whereJson, now.AddHours(_settings.SubscriptionHours), sessionId);
        if (renewId is not null)
        {
            if (!live.Any(s => s.Id == renewId)) throw ParseException.NotFound();
            var updated = await store.UpdateAsync(ClassName, renewId, OwnedBy(userId), current =>
            {
                current.Data = ToData(subscription);
                current.UpdatedAt = ParseDates.Format(now);
                return ValueTask.FromResult<ObjectWrite?>(new ObjectWrite(current, []));
            }, ct);
            if (updated is null) throw ParseException.NotFound();
        }
        else
        {
            if (live.Count >= _settings.MaxSubscriptionsPerUser)
                throw new ParseException(ParseError.InvalidQuery, $"At most {_settings.MaxSubscriptionsPerUser} subscriptions per user.");
            await store.InsertAsync(new StoredObject
            {
                ClassName = ClassName, ObjectId = subscription.Id, OwnerId = userId,
                CreatedAt = ParseDates.Format(now), UpdatedAt = ParseDates.Format(now),
                Acl = SessionService.OwnerAcl(userId),
                Data = ToData(subscription),
            }, [], ct);
        }
        Invalidate();
        return (subscription, renewId is null);
    }

    /// <summary>Deletes one of the user's subscriptions; false when the user has none with this id (another user's included).</summary>
    public async Task<bool> DeleteAsync(string userId, string id, CancellationToken ct)
    {
        if (!ObjectIds.IsValid(id) || await store.DeleteAsync(ClassName, id, OwnedBy(userId), ct) is null) return false;
        filters.Forget(id);
        Invalidate();
        return true;
    }

    /// <summary>Deletes the subscriptions made with a session that ended (logout, password change, deleted, expired).</summary>
    public async Task DeleteForSessionAsync(string userId, string sessionId, CancellationToken ct)
    {
        foreach (var subscription in await FindAsync(QueryNode.And(Equal("user", userId), Equal("session", sessionId)), ct))
            await DeleteAsync(userId, subscription.Id, ct);
    }

    /// <summary>The user's live subscriptions, soonest expiry first.</summary>
    public async Task<List<StoredSubscription>> ListAsync(string userId, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        return [.. (await FindAsync(Equal("user", userId), ct)).Where(s => s.ExpiresAt > now).OrderBy(s => s.ExpiresAt)];
    }

    /// <summary>Live subscriptions of a class, from a cache of <see cref="CacheFor"/> (the delivery path asks on every change).</summary>
    public async Task<IReadOnlyList<StoredSubscription>> ForClassAsync(string className, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        if (!_byClass.TryGetValue(className, out var cached) || cached.Until <= now)
        {
            var generation = Interlocked.Read(ref _generation);
            cached = (await FindAsync(Equal("targetClass", className), ct), now + CacheFor);
            if (Interlocked.Read(ref _generation) == generation) _byClass[className] = cached;
        }
        return [.. cached.Items.Where(s => s.ExpiresAt > now)];
    }

    private void Invalidate()
    {
        Interlocked.Increment(ref _generation);
        _byClass.Clear();
    }

    private async Task<List<StoredSubscription>> FindAsync(QueryNode where, CancellationToken ct) =>
        [.. (await store.FindAsync(new StoreQuery(ClassName, where, [], 0, 10_000), ct)).Select(FromStored).OfType<StoredSubscription>()];

    private static CompareNode Equal(string field, string value) => new(FieldRef.Of(field, Text), CompareOp.Eq, new StringValue(value));

    /// <summary>Only the owner's: another user's id behaves exactly like an unknown one.</summary>
    private static QueryNode OwnedBy(string userId) => Equal("user", userId);

    private static JsonObject ToData(StoredSubscription s)
    {
        var data = new JsonObject { ["user"] = s.UserId, ["targetClass"] = s.ClassName, ["expiresAt"] = ParseDates.Format(s.ExpiresAt) };
        if (s.Where is not null) data["where"] = s.Where;
        if (s.SessionId is not null) data["session"] = s.SessionId;
        return data;
    }

    private static StoredSubscription? FromStored(StoredObject obj)
    {
        var data = obj.Data;
        if (data["user"] is not JsonValue u || !u.TryGetValue(out string? user)
            || data["targetClass"] is not JsonValue c || !c.TryGetValue(out string? className)
            || data["expiresAt"] is not JsonValue e || !e.TryGetValue(out string? expires) || !ParseDates.TryNormalize(expires, out var normalized))
            return null;
        var where = data["where"] is JsonValue w && w.TryGetValue(out string? text) ? text : null;
        var session = data["session"] is JsonValue sv && sv.TryGetValue(out string? sid) ? sid : null;
        return new StoredSubscription(obj.ObjectId, user, className, where, ParseDates.Parse(normalized), session);
    }
}
