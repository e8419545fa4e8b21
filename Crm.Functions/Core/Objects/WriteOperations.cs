using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Store;

namespace Crm.Functions.Core;

internal abstract record FieldOp;
internal sealed record SetOp(JsonNode? Value) : FieldOp;
internal sealed record DeleteOp : FieldOp;
internal sealed record IncrementOp(double Amount) : FieldOp;
internal sealed record AddOp(JsonArray Objects, bool Unique) : FieldOp;
internal sealed record RemoveOp(JsonArray Objects) : FieldOp;

/// <summary>
/// A parsed and validated write body: field operations by (possibly dotted) path, relation changes, and the
/// ACL. Parsing checks everything that can be checked without the stored object, so a bad request fails
/// before anything is written; <see cref="Apply"/> only fails on what the stored value decides (an Increment
/// overflow), inside the store's transaction, so it cannot fail half-way either.
/// </summary>
internal sealed class WriteOperations
{
    public List<(string Path, FieldOp Op)> Ops { get; } = [];
    public List<RelationChange> Relations { get; } = [];
    public JsonObject? Acl { get; private set; }
    public bool HasAcl { get; private set; }
    /// <summary>Types implied by the operations for fields the schema does not know yet.</summary>
    public Dictionary<string, FieldDefinition> NewFields { get; } = new(StringComparer.Ordinal);
    public HashSet<string> ChangedFields { get; } = new(StringComparer.Ordinal);

    public static WriteOperations Parse(JsonObject body, ClassSchema? schema, string className, bool isCreate)
    {
        var result = new WriteOperations();
        foreach (var (key, value) in body)
        {
            switch (key)
            {
                case "createdAt" or "updatedAt" or "className" or "__type":
                    continue; // server-owned or SDK artefacts: ignored, as parse-server does
                case "objectId" or "id":
                    if (isCreate) throw new ParseException(ParseError.InvalidKeyName, $"{key} is an invalid field name.");
                    continue;
                case "ACL":
                    result.Acl = ParseAcl(value);
                    result.HasAcl = true;
                    result.ChangedFields.Add("ACL");
                    continue;
            }
            if (Names.ProhibitedKeys.Contains(key)) throw new ParseException(ParseError.InvalidKeyName, "Prohibited keyword in request data");
            var segments = key.Split('.');
            if (segments.Any(s => s.Length == 0) || !Names.IsValidField(segments[0]) || segments.Length > 8)
                throw new ParseException(ParseError.InvalidKeyName, $"Invalid field name: {Names.Truncate(key)}.");
            if (segments.Skip(1).Any(s => s.Contains('$') || Names.ProhibitedKeys.Contains(s)))
                throw new ParseException(ParseError.InvalidNestedKey, "Nested keys should not contain the '$' or '.' characters");
            var top = segments[0];
            result.ChangedFields.Add(top);
            var existing = schema?.Field(top);
            if (segments.Length > 1 && existing is not null && existing.Type != FieldType.Object)
                throw SchemaService.Mismatch(className, top, existing, new FieldDefinition(FieldType.Object));

            var op = ParseOp(value, key, className, existing, result);
            if (op is null) continue; // relation op, recorded in Relations
            result.Ops.Add((key, op));

            var implied = segments.Length > 1 ? new FieldDefinition(FieldType.Object) : op switch
            {
                SetOp s => ValueCodec.InferType(s.Value),
                IncrementOp => new FieldDefinition(FieldType.Number),
                AddOp or RemoveOp => new FieldDefinition(FieldType.Array),
                _ => null,
            };
            if (implied is null) continue;
            if (existing is null) result.NewFields[top] = implied;
            else if (!Compatible(existing, implied)) throw SchemaService.Mismatch(className, top, existing, implied);
        }
        return result;
    }

    /// <summary>A value is compatible when the types agree; a pointer must target one of the field's classes.</summary>
    public static bool Compatible(FieldDefinition field, FieldDefinition value) =>
        field.Type == value.Type && (field.Type != FieldType.Pointer && field.Type != FieldType.Relation
            || value.TargetClass is null || field.Targets(value.TargetClass));

    private static FieldOp? ParseOp(JsonNode? value, string key, string className, FieldDefinition? existing, WriteOperations result)
    {
        if (value is not JsonObject o || !o.ContainsKey("__op")) return new SetOp(ValueCodec.Normalize(value, key));
        var op = o["__op"] is JsonValue v && v.TryGetValue(out string? name) ? name : null;
        switch (op)
        {
            case "Delete":
                return new DeleteOp();
            case "Increment":
                if (o["amount"] is not JsonValue a || a.GetValueKind() != JsonValueKind.Number || !double.IsFinite(a.GetValue<double>()))
                    throw new ParseException(ParseError.InvalidJson, "Increment amount must be a number");
                return new IncrementOp(a.GetValue<double>());
            case "Add" or "AddUnique" or "Remove":
                if (o["objects"] is not JsonArray objects) throw new ParseException(ParseError.InvalidJson, "objects to add must be an array");
                var normalized = (JsonArray)ValueCodec.Normalize(objects, key)!;
                return op == "Remove" ? new RemoveOp(normalized) : new AddOp(normalized, op == "AddUnique");
            case "AddRelation" or "RemoveRelation":
                ParseRelation(o, op == "AddRelation", key, className, existing, result);
                return null;
            case "Batch":
                if (o["ops"] is not JsonArray ops || ops.Count > 10) throw new ParseException(ParseError.InvalidJson, "Batch ops must be an array");
                foreach (var inner in ops)
                {
                    if (inner is not JsonObject io || io["__op"]?.ToString() is not ("AddRelation" or "RemoveRelation"))
                        throw new ParseException(ParseError.InvalidJson, "Batch supports AddRelation and RemoveRelation only");
                    ParseRelation(io, io["__op"]!.ToString() == "AddRelation", key, className, existing, result);
                }
                return null;
            case "SetOnInsert":
                return new SetOp(ValueCodec.Normalize(o["amount"], key));
            default:
                throw new ParseException(ParseError.CommandUnavailable, $"The {Names.Truncate(op ?? "null")} operator is not supported yet.");
        }
    }

    private static void ParseRelation(JsonObject o, bool add, string key, string className, FieldDefinition? existing, WriteOperations result)
    {
        if (key.Contains('.')) throw new ParseException(ParseError.InvalidKeyName, "Relations cannot be nested");
        if (o["objects"] is not JsonArray objects || objects.Count == 0 || objects.Count > 1000)
            throw new ParseException(ParseError.InvalidJson, "objects to add must be an array");
        var pointers = objects.Select(item => WhereParser.TryPointer(item, out var p) && ObjectIds.IsValid(p.ObjectId) && Names.IsValidClass(p.ClassName)
            ? p : throw new ParseException(ParseError.IncorrectType, "Relation objects must be pointers")).ToList();
        var target = pointers[0].ClassName;
        if (pointers.Any(p => p.ClassName != target)) throw new ParseException(ParseError.IncorrectType, "All objects in a relation must be of the same class");
        var implied = new FieldDefinition(FieldType.Relation, target);
        if (existing is null) result.NewFields[key] = implied;
        else if (!Compatible(existing, implied)) throw SchemaService.Mismatch(className, key, existing, implied);
        result.Relations.Add(new RelationChange(key, target, pointers.Select(p => p.ObjectId).ToList(), add));
    }

    public static JsonObject ParseAcl(JsonNode? value)
    {
        if (value is not JsonObject acl) throw new ParseException(ParseError.InvalidAcl, "Invalid ACL.");
        var result = new JsonObject();
        foreach (var (entity, perms) in acl)
        {
            var validEntity = entity == "*" || ObjectIds.IsValid(entity)
                || (entity.StartsWith("role:", StringComparison.Ordinal) && entity.Length is > 5 and <= 133);
            if (!validEntity || perms is not JsonObject p) throw new ParseException(ParseError.InvalidAcl, "Invalid ACL.");
            var entry = new JsonObject();
            foreach (var (access, granted) in p)
            {
                if (access is not ("read" or "write") || granted is not JsonValue g || !g.TryGetValue(out bool b))
                    throw new ParseException(ParseError.InvalidAcl, "Invalid ACL.");
                entry[access] = b;
            }
            result[entity] = entry;
        }
        return result;
    }

    /// <summary>Applies the operations to a copy of the data; returns the values Parse echoes (operator results).</summary>
    public JsonObject Apply(JsonObject data)
    {
        var echo = new JsonObject();
        foreach (var (path, op) in Ops)
        {
            var (parent, leaf) = Navigate(data, path, create: op is not DeleteOp);
            if (parent is null) continue;
            switch (op)
            {
                case SetOp set:
                    if (set.Value is null) parent.Remove(leaf);
                    else parent[leaf] = set.Value.DeepClone();
                    break;
                case DeleteOp:
                    parent.Remove(leaf);
                    break;
                case IncrementOp inc:
                    var current = parent[leaf] is JsonValue cv && cv.GetValueKind() == JsonValueKind.Number ? cv.GetValue<double>() : 0;
                    var sum = current + inc.Amount;
                    // Only the stored value can tell; the throw rolls back the store transaction this runs in.
                    if (!double.IsFinite(sum)) throw new ParseException(ParseError.IncorrectType, $"Increment of {Names.Truncate(path)} overflows a Number.");
                    parent[leaf] = Number(sum);
                    echo[path] = Number(sum);
                    break;
                case AddOp add:
                    var array = parent[leaf] as JsonArray ?? [];
                    var list = array.Select(n => n?.DeepClone()).ToList();
                    foreach (var item in add.Objects)
                        if (!add.Unique || !list.Any(x => ValueCodec.ValueEquals(x, item))) list.Add(item?.DeepClone());
                    parent[leaf] = new JsonArray([.. list]);
                    echo[path] = new JsonArray([.. list.Select(n => n?.DeepClone())]);
                    break;
                case RemoveOp remove:
                    var kept = (parent[leaf] as JsonArray ?? []).Where(x => !remove.Objects.Any(r => ValueCodec.ValueEquals(x, r)))
                        .Select(n => n?.DeepClone()).ToList();
                    parent[leaf] = new JsonArray([.. kept]);
                    echo[path] = new JsonArray([.. kept.Select(n => n?.DeepClone())]);
                    break;
            }
        }
        return echo;
    }

    /// <summary>Integral results stay integers on the wire (5, not 5.0).</summary>
    private static JsonValue Number(double value) =>
        Math.Abs(value) < 9e15 && value == Math.Floor(value) ? JsonValue.Create((long)value) : JsonValue.Create(value);

    private static (JsonObject? Parent, string Leaf) Navigate(JsonObject data, string path, bool create)
    {
        var segments = path.Split('.');
        var node = data;
        for (var i = 0; i < segments.Length - 1; i++)
        {
            if (node[segments[i]] is JsonObject child) { node = child; continue; }
            if (!create) return (null, "");
            var created = new JsonObject();
            node[segments[i]] = created;
            node = created;
        }
        return (node, segments[^1]);
    }
}
