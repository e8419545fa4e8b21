using System.Text.Json.Nodes;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Store;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Core.History;

/// <summary>
/// Reads an object's history for a caller: the one way every door (REST, GraphQL, MCP) reads it. Whoever may get the
/// object may read its history — decided by the restriction a GET applies (<see cref="AccessPolicy.ReadRestriction"/>:
/// class-level permissions, requiresAuthentication, pointer permissions, ACL and roles); for a deleted object, by the
/// same restriction over the ACL and reader fields it had when it was deleted. Fields protected from the caller are
/// left out of every entry, as a read of the object leaves them out.
/// </summary>
internal sealed class HistoryService(IObjectStore store, SchemaService schemas, HistoryJournal journal, IOptions<ParseSettings> options,
    Files.FileUrls fileUrls)
{
    public const int DefaultLimit = 50, MaxLimit = 1000;

    private static readonly FieldDefinition Text = new(FieldType.String);
    private static readonly FieldDefinition Number = new(FieldType.Number);

    private readonly ParseSettings _settings = options.Value;
    private readonly ObjectEncoder _encoder = new(options.Value, fileUrls);

    /// <summary>Whether the class's changes are recorded.</summary>
    public bool Records(string className) => journal.Records(className);

    /// <summary>
    /// The object's entries the caller may read, newest first (by sequence), in the REST answer's shape. An object that
    /// does not exist, never existed or that the caller may not read is 101 alike, found by the same two queries.
    /// </summary>
    public async Task<IReadOnlyList<JsonObject>> ReadAsync(Auth auth, string className, string objectId, int? limit, int? skip, CancellationToken ct)
    {
        Names.EnsureValidClass(className);
        if (limit < 0 || skip < 0) throw new ParseException(ParseError.InvalidQuery, "limit and skip must not be negative.");
        if (skip > _settings.Limits.MaxSkip) throw new ParseException(ParseError.InvalidQuery, $"skip must not exceed {_settings.Limits.MaxSkip}.");
        // Decided by the class alone, before any object is looked at: the answer tells nothing about objects.
        if (!journal.Records(className))
            throw new ParseException(ParseError.OperationForbidden, $"No history is kept for class {className} (Parse:History:Classes).");
        var schema = schemas.Get(className) ?? throw ParseException.NotFound();
        // Refusals of the whole class (CLP, requiresAuthentication, internal classes) answer as a GET of the object does.
        var restriction = AccessPolicy.ReadRestriction(auth, schema, AccessPolicy.Get);
        var subject = await ReadableSubjectAsync(schema, objectId, restriction, ct) ?? throw ParseException.NotFound();

        var hidden = AccessPolicy.HiddenFields(auth, schema, objectId, name => subject.Data[name], AccessPolicy.ProtectedFields(auth, schema));
        var where = QueryNode.And(
            new CompareNode(FieldRef.Of(JournaledWrites.TargetIdField, Text), CompareOp.Eq, new StringValue(objectId)),
            new CompareNode(FieldRef.Of(JournaledWrites.TargetClassField, Text), CompareOp.Eq, new StringValue(className)),
            new CompareNode(FieldRef.Of(JournaledWrites.StatusField, Text), CompareOp.Eq, new StringValue(HistoryJournal.Recorded)));
        var take = Math.Min(limit ?? DefaultLimit, MaxLimit);
        if (take == 0) return [];
        var entries = await store.FindAsync(new StoreQuery(HistoryJournal.ClassName, where,
            [new SortKey(FieldRef.Of(JournaledWrites.SequenceField, Number), Descending: true)], skip ?? 0, take), ct);
        return [.. entries.Select(e => Entry(e, hidden))];
    }

    /// <summary>
    /// The object as the read decision sees it, when the caller may read it: the live object through the GET's restriction,
    /// else — deleted — the ACL and reader fields it had when it was deleted, matched against the same restriction.
    /// </summary>
    private async Task<StoredObject?> ReadableSubjectAsync(ClassSchema schema, string objectId, QueryNode restriction, CancellationToken ct)
    {
        var byId = new CompareNode(FieldRef.Of("objectId"), CompareOp.Eq, new StringValue(objectId));
        var live = await store.FindAsync(new StoreQuery(schema.ClassName, QueryNode.And(byId, restriction), [], 0, 1), ct);
        if (live.Count == 1) return live[0];

        var deletion = await store.FindAsync(new StoreQuery(HistoryJournal.ClassName, QueryNode.And(
            new CompareNode(FieldRef.Of(JournaledWrites.TargetIdField, Text), CompareOp.Eq, new StringValue(objectId)),
            new CompareNode(FieldRef.Of(JournaledWrites.TargetClassField, Text), CompareOp.Eq, new StringValue(schema.ClassName)),
            new CompareNode(FieldRef.Of(JournaledWrites.KindField, Text), CompareOp.Eq, new StringValue(JournalChange.Delete)),
            new CompareNode(FieldRef.Of(JournaledWrites.StatusField, Text), CompareOp.Eq, new StringValue(HistoryJournal.Recorded))), [], 0, 1), ct);
        if (deletion.Count == 0 || deletion[0].Data[HistoryJournal.SnapshotField] is not JsonObject snapshot) return null;
        var asDeleted = new StoredObject
        {
            ClassName = schema.ClassName,
            ObjectId = objectId,
            OwnerId = "",
            CreatedAt = "",
            UpdatedAt = "",
            Acl = snapshot["acl"]?.DeepClone() as JsonObject,
            Data = snapshot["fields"]?.DeepClone() as JsonObject ?? [],
        };
        return QueryMatcher.Matches(restriction, asDeleted) ? asDeleted : null;
    }

    private JsonObject Entry(StoredObject record, IReadOnlySet<string> hidden)
    {
        var data = record.Data;
        var changes = new JsonArray();
        if (data[HistoryJournal.ChangesField] is JsonArray recorded)
            foreach (var change in recorded.OfType<JsonObject>())
            {
                var field = change["field"]?.ToString() ?? "";
                if (hidden.Contains(field)) continue;
                changes.Add(new JsonObject
                {
                    ["field"] = field,
                    ["old"] = _encoder.WithFileUrls(change["old"], null),
                    ["new"] = _encoder.WithFileUrls(change["new"], null),
                });
            }
        var user = TextOf(data[HistoryJournal.UserField]);
        return new JsonObject
        {
            ["id"] = TextOf(data[JournaledWrites.ChangeField]),
            ["event"] = TextOf(data[JournaledWrites.KindField]),
            ["at"] = new JsonObject { ["__type"] = "Date", ["iso"] = TextOf(data[JournaledWrites.ChangedAtField]) },
            ["sequence"] = (long)JournaledWrites.Number(data[JournaledWrites.SequenceField]),
            ["user"] = user is null ? null : new JsonObject { ["__type"] = "Pointer", ["className"] = "_User", ["objectId"] = user },
            ["master"] = data[HistoryJournal.MasterField] is JsonValue m && m.TryGetValue(out bool master) && master,
            ["door"] = TextOf(data[HistoryJournal.DoorField]),
            ["changes"] = changes,
        };
    }

    private static string? TextOf(JsonNode? node) => node is JsonValue v && v.TryGetValue(out string? s) ? s : null;
}
