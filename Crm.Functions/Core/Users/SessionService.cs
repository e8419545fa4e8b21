using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Store;
using Microsoft.Extensions.Options;
using Crm.Functions.Core.Telemetry;

namespace Crm.Functions.Core.Users;

internal sealed record SessionInfo(string ObjectId, string Token, string UserId, string ExpiresAt);

/// <summary>
/// Sessions are ordinary <c>_Session</c> objects. Token look-ups are cached briefly because every request
/// makes one; every revocation path (logout, session delete, password change) evicts the token here, and
/// the short expiry bounds how long another instance may still honour a revoked token.
/// </summary>
internal sealed class SessionService(IObjectStore store, IOptions<ParseSettings> options, TimeProvider time)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<string, (SessionInfo? Session, DateTimeOffset Until)> _cache = new(StringComparer.Ordinal);

    /// <summary>
    /// A session ended on this instance (logout, password change, deleted, its user deleted): whatever still runs on
    /// it elsewhere (real-time connections and subscriptions) must end too. Handlers must not throw or block.
    /// </summary>
    public event Action<SessionInfo>? Ended;

    public async Task<SessionInfo> CreateAsync(string userId, string? installationId, string action, string provider, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var data = new JsonObject();
        StampNewSession(data, userId, installationId, action, provider);
        var obj = new StoredObject
        {
            ClassName = "_Session", ObjectId = ObjectIds.New(), OwnerId = userId,
            CreatedAt = ParseDates.Format(now), UpdatedAt = ParseDates.Format(now),
            Acl = OwnerAcl(userId),
            Data = data,
        };
        // One session per user and installation, as parse-server does on login.
        if (!string.IsNullOrEmpty(installationId))
            foreach (var old in await FindAsync(Field("user", Ptr(userId)), Field("installationId", new StringValue(installationId)), ct))
                await DeleteAsync(old, ct);
        await store.InsertAsync(obj, [], ct);
        return ToInfo(obj)!;
    }

    /// <summary>
    /// Writes the server-owned fields of a new session for <paramref name="userId"/> into <paramref name="data"/>:
    /// a fresh random token, the owner, how it was created and when it expires. Whatever a client sent for
    /// these fields is overwritten, so no client can choose a token or mint a session for somebody else.
    /// </summary>
    public void StampNewSession(JsonObject data, string userId, string? installationId, string action, string provider)
    {
        var expires = ParseDates.Format(time.GetUtcNow().AddSeconds(options.Value.SessionLengthSeconds));
        data["sessionToken"] = ObjectIds.NewSessionToken();
        data["user"] = ValueCodec.Pointer("_User", userId);
        data["createdWith"] = new JsonObject { ["action"] = action, ["authProvider"] = provider };
        data["expiresAt"] = new JsonObject { ["__type"] = "Date", ["iso"] = expires };
        if (!string.IsNullOrEmpty(installationId)) data["installationId"] = installationId;
        else data.Remove("installationId");
    }

    /// <summary>Sessions are readable and writable by their user only.</summary>
    public static JsonObject OwnerAcl(string userId) => new() { [userId] = new JsonObject { ["read"] = true, ["write"] = true } };

    /// <summary>The session for a token, or null when unknown or expired.</summary>
    public async Task<SessionInfo?> ResolveAsync(string token, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        if (_cache.TryGetValue(token, out var cached) && cached.Until > now)
        {
            CrmTelemetry.RecordCacheLookup("sessions", hit: true);
            return Valid(cached.Session, now);
        }
        CrmTelemetry.RecordCacheLookup("sessions", hit: false);
        var found = await FindAsync(Field("sessionToken", new StringValue(token)), QueryNode.True, ct);
        var session = found.Count > 0 ? ToInfo(found[0]) : null;
        // Only a found session is remembered. A miss may be a session written a moment ago by another instance
        // (or on another replica) that this read did not see yet: remembering it would refuse a valid token for
        // the whole cache lifetime, turning one stale read into seconds of 209s.
        if (session is null) return null;
        if (_cache.Count > 100_000) _cache.Clear();
        _cache[token] = (session, now + CacheFor);
        return Valid(session, now);
    }

    private static SessionInfo? Valid(SessionInfo? session, DateTimeOffset now) =>
        session is not null && string.CompareOrdinal(session.ExpiresAt, ParseDates.Format(now)) > 0 ? session : null;

    public async Task RevokeAsync(string token, CancellationToken ct)
    {
        foreach (var obj in await FindAsync(Field("sessionToken", new StringValue(token)), QueryNode.True, ct)) await DeleteAsync(obj, ct);
        Evict(token);
    }

    public async Task RevokeAllAsync(string userId, CancellationToken ct)
    {
        foreach (var obj in await FindAsync(Field("user", Ptr(userId)), QueryNode.True, ct)) await DeleteAsync(obj, ct);
    }

    public void Evict(string token) => _cache.TryRemove(token, out _);

    /// <summary>A deleted session: forgets its token and tells <see cref="Ended"/>.</summary>
    public void Deleted(StoredObject session)
    {
        if (session.Data["sessionToken"]?.ToString() is { } token) Evict(token);
        if (ToInfo(session) is { } info) Ended?.Invoke(info);
    }

    /// <summary>The live (unexpired) session with this object id, read from the store (no cache: it decides revocation).</summary>
    public async Task<SessionInfo?> FindByIdAsync(string sessionId, CancellationToken ct)
    {
        var found = await FindAsync(new CompareNode(FieldRef.Of("objectId"), CompareOp.Eq, new StringValue(sessionId)), QueryNode.True, ct);
        return Valid(found.Count > 0 ? ToInfo(found[0]) : null, time.GetUtcNow());
    }

    private async Task DeleteAsync(StoredObject obj, CancellationToken ct)
    {
        await store.DeleteAsync("_Session", obj.ObjectId, QueryNode.True, ct);
        Deleted(obj);
    }

    private Task<IReadOnlyList<StoredObject>> FindAsync(QueryNode a, QueryNode b, CancellationToken ct) =>
        store.FindAsync(new StoreQuery("_Session", QueryNode.And(a, b), [], 0, 1000), ct);

    private static CompareNode Field(string name, QueryValue value) =>
        new(FieldRef.Of(name, name == "user" ? new FieldDefinition(FieldType.Pointer, "_User") : new FieldDefinition(FieldType.String)), CompareOp.Eq, value);

    private static PointerValue Ptr(string userId) => new("_User", userId);

    public static SessionInfo? ToInfo(StoredObject obj) =>
        obj.Data["sessionToken"]?.ToString() is { } token && obj.Data["user"]?["objectId"]?.ToString() is { } user
            ? new SessionInfo(obj.ObjectId, token, user, obj.Data["expiresAt"]?["iso"]?.ToString() ?? "9999")
            : null;
}
