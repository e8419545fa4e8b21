using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Schema;

namespace Crm.Functions.Crm;

/// <summary>
/// The template's document format (crm-schema.json) read from and written to the live schema: the same
/// format serves the built-in template, <c>GET /docs/schema.json</c>, <c>schema export</c> and <c>schema import</c>.
/// Optional per-class "classLevelPermissions" and "indexes" extend the shared format so a round trip loses nothing.
/// </summary>
internal static class SchemaDocument
{
    /// <summary>The classes the documents describe: users and every application class (not roles or sessions).</summary>
    public static IReadOnlyList<ClassSchema> DocumentedClasses(SchemaService schemas) =>
        [.. schemas.All.Where(c => c.ClassName == "_User" || !c.ClassName.StartsWith('_'))];

    /// <summary>One edge of the model: <c>Field</c> of <c>From</c> points to <c>To</c> (a Relation when <c>Many</c>).</summary>
    public sealed record Relation(string From, string Field, string To, bool Many, bool Required);

    public static IReadOnlyList<Relation> Relations(IReadOnlyList<ClassSchema> classes)
    {
        var known = classes.Select(c => c.ClassName).ToHashSet(StringComparer.Ordinal);
        var list = new List<Relation>();
        foreach (var schema in classes)
            foreach (var (name, field) in schema.Fields)
            {
                if (field.Type is not (FieldType.Pointer or FieldType.Relation)) continue;
                // Every target of a multi-target pointer ("Contact|Deal") is its own edge.
                foreach (var target in field.TargetClasses.Where(known.Contains))
                    list.Add(new Relation(schema.ClassName, name, target, field.Type == FieldType.Relation, field.Required));
            }
        return list;
    }

    /// <param name="withPermissions">
    /// include class-level permissions and indexes; they tell an attacker which classes are open to whom and which
    /// queries are cheap, so /schemas keeps them to the master key and the public /docs/schema.json leaves them out.
    /// </param>
    public static JsonObject Export(SchemaService schemas, bool withPermissions = true)
    {
        var template = CrmTemplate.Document;
        var classes = DocumentedClasses(schemas);
        var array = new JsonArray();
        foreach (var schema in classes)
        {
            var fields = new JsonObject();
            foreach (var (name, field) in schema.Fields)
            {
                var json = new JsonObject { ["type"] = field.Type };
                if (field.TargetClass is not null) json["targetClass"] = field.TargetClass;
                if (field.Required) json["required"] = true;
                if (field.DefaultValue is not null) json["defaultValue"] = field.DefaultValue.DeepClone();
                if (CrmTemplate.EnumOf(schema.ClassName, name) is { } values) json["enum"] = new JsonArray([.. values.Select(v => (JsonNode)v)]);
                if (field.Description is not null) json["description"] = field.Description;
                fields[name] = json;
            }
            var cls = new JsonObject { ["className"] = schema.ClassName };
            if (schema.Description is not null) cls["description"] = schema.Description;
            cls["fields"] = fields;
            if (withPermissions && !schema.ClassName.StartsWith('_')) cls["classLevelPermissions"] = schema.ClassLevelPermissions.DeepClone();
            var indexes = new JsonObject();
            foreach (var (name, index) in schema.Indexes.Where(i => withPermissions && !i.Value.Unique)) indexes[name] = index.ToJson();
            if (indexes.Count > 0) cls["indexes"] = indexes;
            array.Add(cls);
        }
        return new JsonObject
        {
            ["description"] = template["description"]?.DeepClone(),
            ["pipelineStages"] = template["pipelineStages"]?.DeepClone(),
            ["activityTypes"] = template["activityTypes"]?.DeepClone(),
            ["classes"] = array,
            ["relations"] = new JsonArray([.. Relations(classes).Select(r => (JsonNode)(r.Many
                ? $"{r.From} *..* {r.To} ({r.From}.{r.Field})"
                : $"{r.To} 1..* {r.From} ({r.From}.{r.Field})"))]),
            ["behaviour"] = template["behaviour"]?.DeepClone(),
        };
    }

    /// <summary>
    /// Brings the live schema up to a document: creates missing classes (with the document's CLP, or
    /// "authenticated users only"), adds missing fields and indexes, fills descriptions. It never deletes or
    /// retypes anything, so extra fields and data survive, and a second run changes nothing.
    /// Returns one line per change made (and per conflict kept).
    /// </summary>
    public static async Task<IReadOnlyList<string>> ImportAsync(SchemaService schemas, JsonObject document, bool overwriteDescriptions, CancellationToken ct)
    {
        if (document["classes"] is not JsonArray classes)
            throw new ParseException(ParseError.InvalidJson, "A schema document needs a \"classes\" array.");
        var changes = new List<string>();
        // Two passes: every class exists before pointers and indexes refer to it.
        var parsed = classes.Select(ParseClass).ToList();
        foreach (var cls in parsed) await ApplyClassAsync(schemas, cls, changes, ct);
        foreach (var cls in parsed) await ApplyDescriptionsAsync(schemas, cls, overwriteDescriptions, changes, ct);
        return changes;
    }

    private sealed record ClassDoc(string ClassName, string? Description, JsonObject Fields, JsonObject? Clp, JsonObject? Indexes);

    private static ClassDoc ParseClass(JsonNode? node)
    {
        if (node is not JsonObject o || o["className"] is not JsonValue n || !n.TryGetValue(out string? className))
            throw new ParseException(ParseError.InvalidJson, "Each class needs a \"className\".");
        Names.EnsureValidClass(className);
        if (o["fields"] is not JsonObject fields) throw new ParseException(ParseError.InvalidJson, $"Class {className} needs a \"fields\" object.");
        var clean = new JsonObject();
        foreach (var (name, def) in fields)
        {
            if (Names.DefaultFields.Contains(name)) continue;
            if (!Names.IsValidField(name)) throw new ParseException(ParseError.InvalidKeyName, $"invalid field name: {Names.Truncate(name)}");
            var field = SchemaService.ParseFieldDefinition(name, def); // validates type and target
            // Required flags on built-in classes would fight their own rules (a password is hashed away before the check).
            clean[name] = SchemaJson.FieldToJson(field with { Required = field.Required && !className.StartsWith('_') }, withDescription: true);
        }
        string? description = o["description"] is JsonValue d && d.TryGetValue(out string? text) ? text : null;
        return new ClassDoc(className, description, clean, o["classLevelPermissions"] as JsonObject, o["indexes"] as JsonObject);
    }

    private static async Task ApplyClassAsync(SchemaService schemas, ClassDoc cls, List<string> changes, CancellationToken ct)
    {
        var existing = schemas.Get(cls.ClassName);
        if (existing is null)
        {
            if (cls.ClassName.StartsWith('_'))
            {
                changes.Add($"skipped {cls.ClassName}: built-in classes are created by the server");
                return;
            }
            await schemas.CreateClassAsync(cls.ClassName, Clone(cls.Fields), Clone(cls.Clp) ?? CrmTemplate.AuthenticatedOnlyClp(), null, ct);
            changes.Add($"created class {cls.ClassName} with {cls.Fields.Count} fields");
            existing = schemas.Get(cls.ClassName)!;
        }
        else
        {
            var missing = new JsonObject();
            foreach (var (name, def) in cls.Fields)
            {
                var wanted = SchemaService.ParseFieldDefinition(name, def);
                if (existing.Field(name) is not { } current) { missing[name] = def!.DeepClone(); continue; }
                if (!current.SameTypeAs(wanted))
                    changes.Add($"kept {cls.ClassName}.{name} as {current.Display} (the document says {wanted.Display})");
            }
            // A class still on Parse's all-public default CLP was never secured on purpose: give it the template's.
            var clp = JsonNode.DeepEquals(existing.ClassLevelPermissions, ClassLevelPermissionsDefaults.Public()) && !cls.ClassName.StartsWith('_')
                ? Clone(cls.Clp) ?? CrmTemplate.AuthenticatedOnlyClp()
                : null;
            if (missing.Count > 0 || clp is not null)
            {
                await schemas.UpdateClassAsync(cls.ClassName, missing, clp, null, ct);
                if (missing.Count > 0) changes.Add($"added {cls.ClassName}.{string.Join(", ", missing.Select(f => f.Key))}");
                if (clp is not null) changes.Add($"secured {cls.ClassName} with the template's class-level permissions");
            }
        }

        if (cls.Indexes is { Count: > 0 })
        {
            var current = schemas.Get(cls.ClassName)!;
            var indexes = new JsonObject();
            foreach (var (name, keys) in cls.Indexes)
                if (name != "_id_" && !current.Indexes.ContainsKey(name)) indexes[name] = keys?.DeepClone();
            if (indexes.Count > 0)
            {
                await schemas.UpdateClassAsync(cls.ClassName, null, null, indexes, ct);
                changes.Add($"indexed {cls.ClassName} ({string.Join(", ", indexes.Select(i => i.Key))})");
            }
        }
    }

    private static async Task ApplyDescriptionsAsync(SchemaService schemas, ClassDoc cls, bool overwrite, List<string> changes, CancellationToken ct)
    {
        var schema = schemas.Get(cls.ClassName);
        if (schema is null) return;
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, def) in cls.Fields)
        {
            if (def?["description"] is not JsonValue v || !v.TryGetValue(out string? text)) continue;
            var current = schema.Field(name)?.Description;
            // Descriptions edited on the live server win over the template; an explicit import replaces them.
            if (schema.Field(name) is not null && (current is null || (overwrite && current != text))) fields[name] = text;
        }
        string? classDescription = cls.Description is not null && (schema.Description is null || (overwrite && schema.Description != cls.Description))
            ? cls.Description
            : null;
        if (fields.Count == 0 && classDescription is null) return;
        await schemas.DescribeAsync(cls.ClassName, classDescription, fields, ct);
        changes.Add($"described {cls.ClassName}" + (fields.Count > 0 ? $" ({string.Join(", ", fields.Keys)})" : ""));
    }

    private static JsonObject? Clone(JsonObject? o) => o?.DeepClone().AsObject();
}
