using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Store;
using Crm.Functions.Core.Users;

namespace Crm.Functions.Realtime;

/// <summary>
/// Who negotiated recently, kept in the store (server-internal, master-only class <c>_Presence</c>, one object per
/// user whose id is the user's id), so that every instance sees it. In Azure the instance that answers
/// <c>/negotiate</c> is rarely the one the change-feed function runs on (Flex Consumption scales each trigger on
/// its own instances), and only the store is shared between them. Presence decides who may hear of changes to
/// objects readable beyond their owner (public or role-wide): a user not present only misses such events, it
/// never receives one it may not read (<see cref="RealtimeFanout.CanRead"/> still decides).
/// </summary>
internal sealed class Presence(IObjectStore store, TimeProvider time)
{
    public const string ClassName = "_Presence";
    /// <summary>How stale the list may be on an instance: a user who just negotiated is heard within this.</summary>
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    /// <summary>At most this many present users are read per refresh (public-object fan-out is bounded by it).</summary>
    public const int MaxPresent = 10_000;

    private static readonly FieldDefinition Text = new(FieldType.String);
    // When this instance last wrote each user's presence: a client reconnecting every few seconds must not cost a
    // store write each time, only when its stored expiry has used up a quarter of its lifetime.
    private readonly ConcurrentDictionary<string, DateTimeOffset> _writtenUntil = new(StringComparer.Ordinal);
    // Replaced whole, never mutated: readers need no lock. Two instances of a refresh racing only cost a query.
    private volatile Snapshot _cached = new([], DateTimeOffset.MinValue);

    private sealed record Snapshot(IReadOnlyList<string> Users, DateTimeOffset Until);

    /// <summary>Notes that a user negotiated: present until now + <paramref name="keep"/>.</summary>
    public async Task NoteAsync(string userId, TimeSpan keep, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var until = now + keep;
        if (_writtenUntil.TryGetValue(userId, out var written) && written - now > keep * 0.75) return;
        var data = new JsonObject { ["user"] = userId, ["expiresAt"] = ParseDates.Format(until) };
        var updated = await store.UpdateAsync(ClassName, userId, Mine(userId), current =>
        {
            current.Data = (JsonObject)data.DeepClone();
            current.UpdatedAt = ParseDates.Format(now);
            return ValueTask.FromResult<ObjectWrite?>(new ObjectWrite(current, []));
        }, ct);
        if (updated is null)
        {
            try
            {
                await store.InsertAsync(new StoredObject
                {
                    ClassName = ClassName, ObjectId = userId, OwnerId = userId,
                    CreatedAt = ParseDates.Format(now), UpdatedAt = ParseDates.Format(now),
                    Acl = SessionService.OwnerAcl(userId),
                    Data = data,
                }, [], ct);
            }
            catch (DuplicateKeyException)
            {
                // Another instance noted the same user at the same moment: its write is as good as ours.
            }
        }
        if (_writtenUntil.Count > MaxPresent) _writtenUntil.Clear();
        _writtenUntil[userId] = until;
    }

    /// <summary>Users present now, as every instance has noted them (refreshed at most every <see cref="CacheFor"/>).</summary>
    public async Task<IReadOnlyList<string>> UsersAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var cached = _cached;
        if (cached.Until > now) return cached.Users;
        var live = new CompareNode(FieldRef.Of("expiresAt", Text), CompareOp.Gt, new StringValue(ParseDates.Format(now)));
        var found = await store.FindAsync(new StoreQuery(ClassName, live, [], 0, MaxPresent), ct);
        var users = found.Select(o => o.Data["user"] is JsonValue u && u.TryGetValue(out string? id) ? id : null).OfType<string>().ToList();
        _cached = new Snapshot(users, now + CacheFor);
        return users;
    }

    private static CompareNode Mine(string userId) => new(FieldRef.Of("user", Text), CompareOp.Eq, new StringValue(userId));
}
