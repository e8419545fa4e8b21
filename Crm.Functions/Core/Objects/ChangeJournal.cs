using System.Text.Json.Nodes;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Store;

namespace Crm.Functions.Core;

/// <summary>
/// One committed-to-be change as the journals see it: who made it, the states before and after (null on create and
/// delete), and the change's identity — an id unique to this change and its sequence number within the object, which
/// orders the object's changes whatever instance or clock made them.
/// </summary>
internal sealed record JournalChange(string Kind, Auth Auth, ClassSchema Schema, StoredObject? Before, StoredObject? After,
    string ChangeId, long Sequence, DateTimeOffset At)
{
    public const string Create = "create", Update = "update", Delete = "delete";

    public StoredObject Object => After ?? Before!;
}

/// <summary>
/// Something that must be written with every change of some classes and never without it: outbox entries (webhook
/// deliveries), history records. <see cref="DataService"/> asks each journal for its records and stores them in the same
/// store unit as the change (<see cref="JournaledWrites"/>), so a crash can lose neither the change without its records
/// nor the records without their change.
/// </summary>
internal interface IChangeJournal
{
    /// <summary>
    /// Whether changes of this kind (<see cref="JournalChange.Create"/>, <see cref="JournalChange.Update"/>,
    /// <see cref="JournalChange.Delete"/>) of the class may produce records: false keeps the plain, unjournaled write path.
    /// </summary>
    bool Records(string className, string kind);

    /// <summary>
    /// Whether a change may go without this journal's records where they cannot share its unit: a transactional
    /// <c>/batch</c> on a store whose units cannot span classes (Cosmos DB), which a record in another container would make
    /// unrunnable (108). True for records that only make something survive a crash (a push); false for records a change
    /// must never lack (webhook deliveries, history), whose classes such a batch then cannot write.
    /// </summary>
    bool SkippedInSinglePartitionUnits => false;

    /// <summary>The classes its records are objects of (each record has <see cref="JournaledWrites"/>' common fields).</summary>
    IReadOnlyList<string> RecordClasses { get; }

    /// <summary>The records (objects of the journal's own server-internal classes) to store with the change.</summary>
    IEnumerable<StoredObject> RecordsFor(JournalChange change);
}

/// <summary>
/// The records a journaled write stores, and how they are committed with the change. On a store whose units span
/// classes (SQLite) they are inserted in the unit of the change. On one whose units cannot (Cosmos DB: a transactional
/// batch covers one partition of one container) each record is first inserted <em>held</em>, the change is written,
/// and the records are released; a record still held after a crash is settled later from the object itself
/// (<see cref="ChangeIdsKey"/>): released when its change is there, dropped when not.
/// </summary>
internal static class JournaledWrites
{
    /// <summary>The object's last change ids (server-internal, never leaves the server): which held records committed.</summary>
    public const string ChangeIdsKey = "_chg";

    /// <summary>The object's change counter (server-internal): the sequence of its last change.</summary>
    public const string SequenceKey = "_chgSeq";

    /// <summary>Change ids an object remembers: enough for settling held records shortly after a crash.</summary>
    public const int RememberedChanges = 20;

    /// <summary>The <c>status</c> of a record written before its change committed (stores without cross-class units).</summary>
    public const string Held = "held";

    // The fields every record has, so that held records can be settled whatever journal wrote them.
    public const string StatusField = "status", TargetClassField = "targetClass", TargetIdField = "targetId",
        ChangeField = "change", KindField = "kind", SequenceField = "seq", ChangedAtField = "changedAt";

    /// <summary>The status a held record gets once its change is known to have committed.</summary>
    private const string ReleasedStatusKey = "_releasedStatus";

    /// <summary>The schema fields of a journal's record class: the fields every record has, and the journal's <paramref name="own"/>.</summary>
    public static Dictionary<string, FieldDefinition> RecordFields(Dictionary<string, FieldDefinition> own)
    {
        var fields = new Dictionary<string, FieldDefinition>(StringComparer.Ordinal)
        {
            [StatusField] = new(FieldType.String),
            [TargetClassField] = new(FieldType.String),
            [TargetIdField] = new(FieldType.String),
            [ChangeField] = new(FieldType.String),
            [KindField] = new(FieldType.String),
            [SequenceField] = new(FieldType.Number),
            [ChangedAtField] = new(FieldType.String),
        };
        foreach (var (name, definition) in own) fields[name] = definition;
        return fields;
    }

    /// <summary>The common fields of a record about <paramref name="change"/>.</summary>
    public static JsonObject RecordData(JournalChange change, string status) => new()
    {
        [StatusField] = status,
        [TargetClassField] = change.Schema.ClassName,
        [TargetIdField] = change.Object.ObjectId,
        [ChangeField] = change.ChangeId,
        [KindField] = change.Kind,
        [SequenceField] = change.Sequence,
        [ChangedAtField] = ParseDates.Format(change.At),
    };

    /// <summary>
    /// A record of <paramref name="className"/> about <paramref name="change"/>, stamped with the change's time, in one
    /// partition per object (Cosmos DB): an object's records, read in order, live together. A journal may name its record
    /// (<paramref name="objectId"/>): by the change id, to find it again from the change alone, or by time, for records
    /// only ever appended (<see cref="ObjectIds.NewTimeOrdered"/>); by default the id is random.
    /// </summary>
    public static StoredObject Record(string className, JournalChange change, JsonObject data, string? objectId = null)
    {
        var at = ParseDates.Format(change.At);
        return new StoredObject
        {
            ClassName = className,
            ObjectId = objectId ?? ObjectIds.New(),
            OwnerId = $"{change.Schema.ClassName}:{change.Object.ObjectId}",
            CreatedAt = at,
            UpdatedAt = at,
            Data = data,
        };
    }

    public static void Hold(StoredObject record)
    {
        record.Data[ReleasedStatusKey] = record.Data[StatusField]?.DeepClone();
        record.Data[StatusField] = Held;
    }

    /// <summary>A held record with its intended status; null when it is not held.</summary>
    public static StoredObject? Released(StoredObject record)
    {
        if (record.Data[StatusField]?.GetValue<string>() != Held) return null;
        record.Data[StatusField] = record.Data[ReleasedStatusKey]?.DeepClone();
        record.Data.Remove(ReleasedStatusKey);
        return record;
    }

    public static long SequenceOf(StoredObject? obj) => (long)Number(obj?.Data[SequenceKey]);

    /// <summary>A number as read from the store or as set in memory (a tree keeps the type it was given).</summary>
    public static double Number(JsonNode? node) => node is not JsonValue v ? 0
        : v.TryGetValue(out double d) ? d : v.TryGetValue(out long l) ? l : v.TryGetValue(out int i) ? i : 0;

    /// <summary>Marks <paramref name="next"/> as carrying change <paramref name="changeId"/>, with the next sequence.</summary>
    public static long Stamp(StoredObject? previous, StoredObject next, string changeId)
    {
        var sequence = SequenceOf(previous) + 1;
        var ids = new JsonArray { changeId };
        if (previous?.Data[ChangeIdsKey] is JsonArray earlier)
            foreach (var id in earlier.Take(RememberedChanges - 1)) ids.Add(id?.DeepClone());
        next.Data[ChangeIdsKey] = ids;
        next.Data[SequenceKey] = sequence;
        return sequence;
    }

    /// <summary>The id of the change <paramref name="records"/> were made for; null without records.</summary>
    public static string? ChangeIdOf(IReadOnlyList<StoredObject>? records) => records is [{ } first, ..] ? Text(first, ChangeField) : null;

    /// <summary>A text field of a record; null when absent or not text.</summary>
    public static string? Text(StoredObject record, string field) =>
        record.Data[field] is JsonValue v && v.TryGetValue(out string? s) ? s : null;

    /// <summary>
    /// The time until which a process that took a record (to deliver or push what it records) has it to itself: other
    /// instances reading the same records leave it alone until then, and take it over after, when that process died.
    /// </summary>
    public const string LeaseField = "leaseUntil";

    public static bool LeaseFree(StoredObject record, DateTimeOffset now) =>
        Text(record, LeaseField) is not { } lease || string.CompareOrdinal(lease, ParseDates.Format(now)) <= 0;

    /// <summary>
    /// Leases a record until <paramref name="until"/> in one atomic update, when <paramref name="mayTake"/> still holds for it
    /// as stored (its lease free among the conditions); the leased record, or null when another process was first.
    /// </summary>
    public static Task<StoredObject?> LeaseAsync(IObjectStore store, StoredObject record, DateTimeOffset until,
        Func<StoredObject, bool> mayTake, CancellationToken ct)
    {
        var leaseUntil = ParseDates.Format(until);
        return store.UpdateAsync(record.ClassName, record.ObjectId, Query.QueryNode.True, current =>
        {
            if (!mayTake(current)) return ValueTask.FromResult<ObjectWrite?>(null);
            current.Data[LeaseField] = leaseUntil;
            return ValueTask.FromResult<ObjectWrite?>(new ObjectWrite(current, []));
        }, ct);
    }

    public static bool Carries(StoredObject obj, string changeId) =>
        obj.Data[ChangeIdsKey] is JsonArray ids && ids.Any(i => i is JsonValue v && v.TryGetValue(out string? s) && s == changeId);
}
