using System.Text.Json.Nodes;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Requests;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Store;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Core.History;

/// <summary>
/// The record history: for every create, update and delete of a recorded class (<see cref="HistorySettings.Classes"/>),
/// one entry in the master-only class <c>_History</c>, stored with the change (<see cref="IChangeJournal"/>), so a
/// change never exists without its entry. An entry says who (user or master key), when, through which door
/// (<see cref="RequestDoor"/>) and which fields changed, with their old and new values as stored — never passwords,
/// server-internal fields or fields protected from every caller (those are not recorded at all); fields protected
/// from some callers are recorded and hidden from them when read (<see cref="HistoryService"/>).
/// </summary>
internal sealed class HistoryJournal(IOptions<ParseSettings> options) : IChangeJournal
{
    public const string ClassName = "_History";

    /// <summary>The status of an entry whose change committed (a held one is not yet known to have).</summary>
    public const string Recorded = "recorded";

    /// <summary>The door of changes the server made itself (start-up, the CLI, jobs): no request came in.</summary>
    public const string ServerDoor = "server";

    public const string UserField = "user", MasterField = "master", DoorField = "door", ChangesField = "changes", SnapshotField = "snapshot";

    private readonly HashSet<string> _classes = new(options.Value.History.EffectiveClasses.Where(c => c.Length > 0), StringComparer.Ordinal);

    public IReadOnlyList<string> RecordClasses { get; } = [ClassName];

    public bool Records(string className) => _classes.Contains(className);

    bool IChangeJournal.Records(string className, string kind) => Records(className);

    /// <summary>The schema of the entries (a system class, so both stores index it from the start).</summary>
    public static ClassSchema Schema()
    {
        var schema = ClassSchema.Create(ClassName, JournaledWrites.RecordFields(new()
        {
            [UserField] = new(FieldType.String),
            [MasterField] = new(FieldType.Boolean),
            [DoorField] = new(FieldType.String),
            [ChangesField] = new(FieldType.Array),
            [SnapshotField] = new(FieldType.Object),
        }));
        // An object's entries are read by its id; expired ones by age. Single fields: no composite index to provision on Cosmos.
        var indexes = schema.Indexes
            .SetItem("targetId_1", new IndexDefinition([(JournaledWrites.TargetIdField, 1)]))
            .SetItem("changedAt_1", new IndexDefinition([(JournaledWrites.ChangedAtField, 1)]));
        return schema with { Indexes = indexes };
    }

    public IEnumerable<StoredObject> RecordsFor(JournalChange change)
    {
        var data = JournaledWrites.RecordData(change, Recorded);
        data[UserField] = change.Auth.IsMaster ? null : change.Auth.UserId;
        data[MasterField] = change.Auth.IsMaster;
        data[DoorField] = RequestDoor.Current ?? ServerDoor;
        data[ChangesField] = Changes(change);
        if (change.Kind == JournalChange.Delete) data[SnapshotField] = Snapshot(change.Schema, change.Before!);
        // Time-ordered ids: entries are written in time order and never updated, so the key index grows at its end.
        yield return JournaledWrites.Record(ClassName, change, data, ObjectIds.NewTimeOrdered(change.At));
    }

    /// <summary>The fields the change set, changed or unset, as {field, old, new} in stored (Parse JSON) form; none for a delete.</summary>
    private static JsonArray Changes(JournalChange change)
    {
        var changes = new JsonArray();
        if (change.After is not { } after) return changes;
        var unrecorded = ProtectedFromEveryone(change.Schema);
        bool Recorded(string field) => !field.StartsWith('_') && !unrecorded.Contains(field) && !Names.DefaultFields.Contains(field)
            && change.Schema.Field(field)?.Type != FieldType.Relation
            && !(change.Schema.ClassName == "_User" && field is "password" or "sessionToken" or "authData");
        void Add(string field, JsonNode? old, JsonNode? @new)
        {
            if ((old is null && @new is null) || JsonNode.DeepEquals(old, @new)) return;
            changes.Add(new JsonObject { ["field"] = field, ["old"] = old?.DeepClone(), ["new"] = @new?.DeepClone() });
        }

        var before = change.Before?.Data;
        foreach (var (field, value) in after.Data)
            if (Recorded(field)) Add(field, before?[field], value);
        if (before is not null)
            foreach (var (field, value) in before)
                if (Recorded(field) && !after.Data.ContainsKey(field)) Add(field, value, null);
        Add("ACL", change.Before?.Acl, after.Acl);
        return changes;
    }

    /// <summary>
    /// Fields no caller but the master key ever sees: protected from "*" and from every more particular scope (a caller
    /// sees what the scopes it matches all leave out, security.md §6), plus those the server always protects. Recording
    /// them would keep, for a year, what nobody may read.
    /// </summary>
    public static HashSet<string> ProtectedFromEveryone(ClassSchema schema)
    {
        var hidden = AccessPolicy.ProtectedFields(Auth.Anonymous, schema);
        if (schema.ClassLevelPermissions["protectedFields"] is JsonObject scopes)
            foreach (var (scope, list) in scopes)
                if (scope != "*") hidden.IntersectWith(list is JsonArray fields ? fields.Select(f => f?.ToString() ?? "") : []);
        return hidden;
    }

    /// <summary>
    /// What the read decision looks at of a deleted object: its ACL and the fields that can name a reader (pointers to
    /// users, and the fields the class's pointer permissions and userField scopes name). Who could read the object when
    /// it was deleted may read its history (docs/history.md).
    /// </summary>
    private static JsonObject Snapshot(ClassSchema schema, StoredObject deleted)
    {
        var named = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, field) in schema.Fields)
            if (field.Type == FieldType.Pointer && field.TargetClass == "_User") named.Add(name);
        var clp = schema.ClassLevelPermissions;
        foreach (var key in new[] { "readUserFields", "writeUserFields" })
            if (clp[key] is JsonArray list) named.UnionWith(list.Select(n => n?.ToString() ?? ""));
        foreach (var op in new[] { AccessPolicy.Get, AccessPolicy.Find, AccessPolicy.Count })
            if (clp[op]?["pointerFields"] is JsonArray list) named.UnionWith(list.Select(n => n?.ToString() ?? ""));
        if (clp["protectedFields"] is JsonObject scopes)
            named.UnionWith(scopes.Select(s => s.Key).Where(s => s.StartsWith("userField:", StringComparison.Ordinal)).Select(s => s["userField:".Length..]));
        var fields = new JsonObject();
        foreach (var name in named)
            if (deleted.Data[name] is { } value) fields[name] = value.DeepClone();
        return new JsonObject { ["acl"] = deleted.Acl?.DeepClone(), ["fields"] = fields };
    }
}
