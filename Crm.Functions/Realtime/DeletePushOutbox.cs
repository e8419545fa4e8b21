using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Store;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Realtime;

/// <summary>
/// The outbox of real-time delete pushes. Creates and updates can always be pushed again from the object (the Cosmos change
/// feed does just that), but a hard delete leaves nothing behind: the deleting process is the only one that knows the last
/// state and so its readers, and a process that died between the commit and the push lost the push. So every delete of an
/// app class is stored with one record in the master-only class <c>_RealtimeOutbox</c>, in the delete's own store unit
/// (<see cref="IChangeJournal"/>), holding the deleted state and named by the change id. The pump removes the record once
/// every send of the push has run; a record older than <see cref="RealtimeSettings.DeleteOutboxGraceSeconds"/> that no
/// process of this instance is pushing was left by a process that died, and is leased and pushed again
/// (<see cref="TakeAbandonedAsync"/>). Delivery is therefore at least once: a "deleted" event may arrive twice, but a committed delete is pushed.
/// </summary>
internal sealed class DeletePushOutbox(IObjectStore store, JournalRecovery recovery, TimeProvider time, IOptions<RealtimeSettings> options)
    : IChangeJournal
{
    public const string ClassName = "_RealtimeOutbox";
    // The record's fields beyond JournaledWrites' common ones; the class's schema is declared with the other internal classes.
    private const string Pending = "pending", ObjectField = "object";

    private readonly RealtimeSettings _settings = options.Value;

    /// <summary>Change ids whose push this process runs now: never taken as abandoned, however long a recipient hangs.</summary>
    private readonly ConcurrentDictionary<string, bool> _pushing = new(StringComparer.Ordinal);

    public IReadOnlyList<string> RecordClasses { get; } = [ClassName];

    /// <summary>
    /// A delete in a transactional batch on Cosmos DB goes without a record (a record would make the batch span two
    /// containers, and the store refuse it): its push is sent after the commit as any other, only not again after a crash.
    /// </summary>
    public bool SkippedInSinglePartitionUnits => true;

    /// <summary>
    /// Deletes of the app's classes while this process pushes its writes (<see cref="RealtimeSettings.PushFromWrites"/> not
    /// false); server-internal classes (sessions, journals) are never pushed.
    /// </summary>
    public bool Records(string className, string kind) =>
        kind == JournalChange.Delete && !className.StartsWith('_') && _settings.PushFromWrites != false;

    public IEnumerable<StoredObject> RecordsFor(JournalChange change)
    {
        var data = JournaledWrites.RecordData(change, Pending);
        data[ObjectField] = Snapshot(change.Object);
        yield return JournaledWrites.Record(ClassName, change, data, objectId: change.ChangeId);
    }

    /// <summary>Marks a push as this process's own until <see cref="CompletedAsync"/> or <see cref="Abandoned"/>.</summary>
    public void Pushing(string changeId) => _pushing[changeId] = true;

    /// <summary>Every send of the push has run: its record goes.</summary>
    public async Task CompletedAsync(string changeId)
    {
        // Not a request's token: the push happened, and a record left behind would only be pushed again.
        await store.DeleteAsync(ClassName, changeId, QueryNode.True, CancellationToken.None);
        _pushing.TryRemove(changeId, out _);
    }

    /// <summary>The push could not be run here (its fan-out failed, or it was dropped): its record waits for a later round.</summary>
    public void Abandoned(string changeId) => _pushing.TryRemove(changeId, out _);

    /// <summary>
    /// Records whose push no live process runs: held ones first settled (stores without cross-class units), then pending ones
    /// older than the grace period, not pushed by this process, and not leased by another — each leased here and returned
    /// as the delete it records.
    /// </summary>
    public async Task<IReadOnlyList<ObjectChange>> TakeAbandonedAsync(CancellationToken ct)
    {
        var grace = TimeSpan.FromSeconds(_settings.DeleteOutboxGraceSeconds);
        if (!store.UnitsSpanClasses) await recovery.SettleAsync(ClassName, grace, ct);
        var now = time.GetUtcNow();
        var where = QueryNode.And(
            new CompareNode(FieldRef.Of(JournaledWrites.StatusField, Text), CompareOp.Eq, new StringValue(Pending)),
            new CompareNode(FieldRef.Of(JournaledWrites.ChangedAtField, Text), CompareOp.Lt, new StringValue(ParseDates.Format(now - grace))));
        var found = await store.FindAsync(new StoreQuery(ClassName, where,
            [new SortKey(FieldRef.Of(JournaledWrites.ChangedAtField, Text), false)], 0, 100), ct);

        var taken = new List<ObjectChange>();
        foreach (var record in found)
        {
            if (_pushing.ContainsKey(record.ObjectId) || !JournaledWrites.LeaseFree(record, now)) continue;
            var leased = await JournaledWrites.LeaseAsync(store, record, now + grace, current => JournaledWrites.LeaseFree(current, time.GetUtcNow()), ct);
            if (leased is null || Restore(leased) is not { } deleted) continue;
            _pushing[leased.ObjectId] = true;
            taken.Add(new ObjectChange("deleted", deleted.ClassName, deleted, null, leased.ObjectId));
        }
        return taken;
    }

    private static string Snapshot(StoredObject obj) => new JsonObject
    {
        ["className"] = obj.ClassName,
        ["objectId"] = obj.ObjectId,
        ["ownerId"] = obj.OwnerId,
        ["createdAt"] = obj.CreatedAt,
        ["updatedAt"] = obj.UpdatedAt,
        ["data"] = obj.Data.DeepClone(),
        ["ACL"] = obj.Acl?.DeepClone(),
    }.ToJsonString();

    private static StoredObject? Restore(StoredObject record)
    {
        if (JournaledWrites.Text(record, ObjectField) is not { } json || JsonNode.Parse(json) is not JsonObject s) return null;
        return new StoredObject
        {
            ClassName = s["className"]!.GetValue<string>(),
            ObjectId = s["objectId"]!.GetValue<string>(),
            OwnerId = s["ownerId"]!.GetValue<string>(),
            CreatedAt = s["createdAt"]!.GetValue<string>(),
            UpdatedAt = s["updatedAt"]!.GetValue<string>(),
            Data = s["data"]?.DeepClone() as JsonObject ?? [],
            Acl = s["ACL"]?.DeepClone() as JsonObject,
        };
    }

    private static readonly FieldDefinition Text = new(FieldType.String);
}
