using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;

namespace Crm.Functions.Core.Store;

/// <summary>
/// A whole app as JSON lines, read from and written to any <see cref="IObjectStore"/>: so an app moves between the
/// embedded store and Cosmos DB (and back), or into a fresh store. The first line names the format; then one line
/// per class schema, then one per object with its relations. Objects keep their ids, owners, dates and ACLs.
/// </summary>
/// <remarks>
/// Without secrets (the default) the export leaves out every server-internal field (those starting with '_':
/// password hashes, reset and verification tokens, lockout counters), users' <c>authData</c>, and the sessions;
/// imported users then set a new password (reset) or sign in again. Connection state (<c>_Subscription</c>,
/// <c>_Presence</c>, <c>_LiveQuery</c>) is never exported. Import writes through the store (unique usernames and role names included)
/// and skips objects whose id already exists, so it can be run again; run it while no server serves the target
/// store, or restart the server after, as servers hold the schema in memory.
/// </remarks>
internal static class StoreTransfer
{
    public const string Format = "crm-functions-export";
    private const int PageSize = 500;
    private static readonly HashSet<string> ConnectionState = new(StringComparer.Ordinal) { "_Subscription", "_Presence", "_LiveQuery" };

    /// <param name="Skipped">objects whose id the target already has</param>
    /// <param name="Conflicts">objects refused by a unique index (a username or role name another object holds)</param>
    public sealed record Counts(int Classes, long Objects, long Skipped, long Conflicts = 0);

    public static async Task<Counts> ExportAsync(IObjectStore store, TextWriter output, bool includeSecrets, CancellationToken ct)
    {
        await WriteLineAsync(output, new JsonObject { ["format"] = Format, ["version"] = 1, ["secrets"] = includeSecrets }, ct);
        var schemas = (await store.LoadSchemasAsync(ct))
            .Where(s => !ConnectionState.Contains(s.ClassName) && (includeSecrets || s.ClassName != "_Session"))
            .OrderBy(s => s.ClassName, StringComparer.Ordinal).ToList();
        foreach (var schema in schemas)
            await WriteLineAsync(output, new JsonObject { ["schema"] = JsonNode.Parse(SchemaJson.Serialize(schema)) }, ct);

        long objects = 0;
        var byId = new List<SortKey> { new(FieldRef.Of("objectId"), Descending: false) };
        foreach (var schema in schemas)
        {
            var relationFields = schema.RelationFields.Select(f => f.Key).ToList();
            string? after = null;
            while (true)
            {
                // Keyset pages by objectId: each page is one indexed range read, however large the class.
                var where = after is null ? QueryNode.True : new CompareNode(FieldRef.Of("objectId"), CompareOp.Gt, new StringValue(after));
                var page = await store.FindAsync(new StoreQuery(schema.ClassName, where, byId, 0, PageSize), ct);
                foreach (var obj in page)
                {
                    var data = (JsonObject)obj.Data.DeepClone();
                    if (!includeSecrets)
                    {
                        foreach (var key in data.Select(p => p.Key).Where(k => k.StartsWith('_')).ToList()) data.Remove(key);
                        if (schema.ClassName == "_User") data.Remove("authData");
                    }
                    var line = new JsonObject
                    {
                        ["className"] = obj.ClassName, ["objectId"] = obj.ObjectId, ["ownerId"] = obj.OwnerId,
                        ["createdAt"] = obj.CreatedAt, ["updatedAt"] = obj.UpdatedAt, ["ACL"] = obj.Acl?.DeepClone(), ["data"] = data,
                    };
                    if (relationFields.Count > 0)
                    {
                        var relations = new JsonObject();
                        foreach (var field in relationFields)
                        {
                            var ids = await store.RelatedIdsAsync(obj.ClassName, obj.ObjectId, field, ct);
                            if (ids.Count > 0) relations[field] = new JsonArray(ids.Select(i => (JsonNode)i).ToArray());
                        }
                        line["relations"] = relations;
                    }
                    await WriteLineAsync(output, new JsonObject { ["object"] = line }, ct);
                    objects++;
                }
                if (page.Count < PageSize) break;
                after = page[^1].ObjectId;
            }
        }
        await output.FlushAsync(ct);
        return new Counts(schemas.Count, objects, 0);
    }

    /// <exception cref="InvalidDataException">the input is not an export, or a line is not one of its lines</exception>
    public static async Task<Counts> ImportAsync(IObjectStore store, TextReader input, CancellationToken ct)
    {
        var header = await ReadLineAsync(input, 1, ct);
        if (header?["format"]?.GetValue<string>() != Format)
            throw new InvalidDataException($"The input is not a {Format} file (its first line names no such format).");
        var schemas = (await store.LoadSchemasAsync(ct)).ToDictionary(s => s.ClassName, StringComparer.Ordinal);
        int classes = 0;
        long objects = 0, skipped = 0, conflicts = 0;
        for (var number = 2; await ReadLineAsync(input, number, ct) is { } line; number++)
        {
            if (line["schema"] is JsonObject schemaJson)
            {
                var schema = SchemaJson.Deserialize(schemaJson.ToJsonString());
                // A class the target has already keeps its permissions, indexes and fields; the export's other fields are added.
                if (schemas.TryGetValue(schema.ClassName, out var existing))
                    schema = existing with { Fields = existing.Fields.SetItems(schema.Fields.Where(f => !existing.Fields.ContainsKey(f.Key))) };
                await store.SaveSchemaAsync(schema, ct);
                schemas[schema.ClassName] = schema;
                classes++;
            }
            else if (line["object"] is JsonObject o)
            {
                var className = Text(o, "className", number);
                if (!schemas.TryGetValue(className, out var schema))
                    throw new InvalidDataException($"Line {number}: an object of class {className}, whose schema the file does not hold.");
                var obj = new StoredObject
                {
                    ClassName = className, ObjectId = Text(o, "objectId", number), OwnerId = Text(o, "ownerId", number),
                    CreatedAt = Text(o, "createdAt", number), UpdatedAt = Text(o, "updatedAt", number),
                    Acl = o["ACL"]?.DeepClone() as JsonObject,
                    Data = o["data"]?.DeepClone() as JsonObject ?? throw new InvalidDataException($"Line {number}: an object without data."),
                };
                var relations = new List<RelationChange>();
                foreach (var (field, ids) in o["relations"] as JsonObject ?? [])
                {
                    var target = schema.Field(field)?.TargetClass ?? throw new InvalidDataException($"Line {number}: relation {field} is not in the schema of {className}.");
                    relations.Add(new RelationChange(field, target, ids!.AsArray().Select(i => i!.GetValue<string>()).ToList(), Add: true));
                }
                try
                {
                    await store.InsertAsync(obj, relations, ct);
                    objects++;
                }
                catch (DuplicateKeyException e) when (e.IndexName == "objectId")
                {
                    skipped++;
                }
                catch (DuplicateKeyException)
                {
                    // A unique index may answer before the id does (the object is there already, holding its own name).
                    var byId = new CompareNode(FieldRef.Of("objectId"), CompareOp.Eq, new StringValue(obj.ObjectId));
                    if ((await store.FindAsync(new StoreQuery(className, byId, [], 0, 1), ct)).Count > 0) skipped++;
                    else conflicts++;
                }
            }
            else throw new InvalidDataException($"Line {number} is neither a schema nor an object.");
        }
        return new Counts(classes, objects, skipped, conflicts);
    }

    private static string Text(JsonObject o, string key, int line) =>
        o[key] is JsonValue v && v.TryGetValue(out string? text) && text.Length > 0 ? text : throw new InvalidDataException($"Line {line}: {key} is missing.");

    private static async Task WriteLineAsync(TextWriter output, JsonObject line, CancellationToken ct)
    {
        await output.WriteAsync(line.ToJsonString().AsMemory(), ct);
        await output.WriteAsync("\n".AsMemory(), ct);
    }

    private static async Task<JsonObject?> ReadLineAsync(TextReader input, int number, CancellationToken ct)
    {
        while (await input.ReadLineAsync(ct) is { } text)
        {
            if (string.IsNullOrWhiteSpace(text)) continue;
            try
            {
                return JsonNode.Parse(text) as JsonObject ?? throw new InvalidDataException($"Line {number} is not a JSON object.");
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"Line {number} is not valid JSON: {e.Message}");
            }
        }
        return null;
    }
}
