using System.Collections.Immutable;
using System.Text.Json.Nodes;

namespace Crm.Functions.Core.Schema;

/// <summary>Schema ⇄ JSON: Parse's wire format for /schemas, and the storage format (which also keeps descriptions and unique-index flags).</summary>
internal static class SchemaJson
{
    private static readonly (string Name, string Type)[] DefaultFieldTypes =
        [("objectId", FieldType.String), ("createdAt", FieldType.Date), ("updatedAt", FieldType.Date), ("ACL", FieldType.Acl)];

    public static JsonObject FieldToJson(FieldDefinition field, bool withDescription)
    {
        var json = new JsonObject { ["type"] = field.Type };
        if (field.TargetClass is not null) json["targetClass"] = field.TargetClass;
        if (field.Required) json["required"] = true;
        if (field.DefaultValue is not null) json["defaultValue"] = field.DefaultValue.DeepClone();
        if (withDescription && field.Description is not null) json["description"] = field.Description;
        return json;
    }

    /// <summary>The schema as GET /schemas returns it: default fields first, internal unique indexes hidden.</summary>
    public static JsonObject ToParseJson(ClassSchema schema)
    {
        var fields = new JsonObject();
        foreach (var (name, type) in DefaultFieldTypes) fields[name] = new JsonObject { ["type"] = type };
        foreach (var (name, field) in schema.Fields) fields[name] = FieldToJson(field, withDescription: false);
        var json = new JsonObject
        {
            ["className"] = schema.ClassName,
            ["fields"] = fields,
            ["classLevelPermissions"] = schema.ClassLevelPermissions.DeepClone(),
        };
        var visible = schema.Indexes.Where(i => !i.Value.Unique).ToList();
        if (visible.Count > 0)
        {
            var indexes = new JsonObject { ["_id_"] = new JsonObject { ["_id"] = 1 } };
            foreach (var (name, index) in visible) indexes[name] = index.ToJson();
            json["indexes"] = indexes;
        }
        return json;
    }

    public static string Serialize(ClassSchema schema)
    {
        var fields = new JsonObject();
        foreach (var (name, field) in schema.Fields) fields[name] = FieldToJson(field, withDescription: true);
        var indexes = new JsonObject();
        foreach (var (name, index) in schema.Indexes)
        {
            var stored = new JsonObject { ["keys"] = new JsonObject(index.Keys.Select(k => KeyValuePair.Create(k.Field, (JsonNode?)k.Direction))), ["unique"] = index.Unique, ["ignoreCase"] = index.IgnoreCase };
            if (index.Text) stored["text"] = true;
            if (index.Automatic) stored["automatic"] = true;
            indexes[name] = stored;
        }
        var json = new JsonObject
        {
            ["className"] = schema.ClassName,
            ["description"] = schema.Description,
            ["fields"] = fields,
            ["classLevelPermissions"] = schema.ClassLevelPermissions.DeepClone(),
            ["indexes"] = indexes,
        };
        return json.ToJsonString();
    }

    public static ClassSchema Deserialize(string text)
    {
        var json = JsonNode.Parse(text)!.AsObject();
        var fields = new Dictionary<string, FieldDefinition>(StringComparer.Ordinal);
        foreach (var (name, node) in json["fields"]!.AsObject())
        {
            var f = node!.AsObject();
            fields[name] = new FieldDefinition(
                f["type"]!.GetValue<string>(),
                f["targetClass"]?.GetValue<string>(),
                f["required"]?.GetValue<bool>() ?? false,
                f["defaultValue"]?.DeepClone(),
                f["description"]?.GetValue<string>());
        }
        var indexes = ImmutableSortedDictionary.CreateBuilder<string, IndexDefinition>(StringComparer.Ordinal);
        if (json["indexes"] is JsonObject stored)
        {
            foreach (var (name, node) in stored)
            {
                var keys = node!["keys"]!.AsObject().Select(k => (k.Key, k.Value!.GetValue<int>())).ToList();
                indexes[name] = new IndexDefinition(keys, node["unique"]?.GetValue<bool>() ?? false, node["ignoreCase"]?.GetValue<bool>() ?? false,
                    node["text"]?.GetValue<bool>() ?? false, node["automatic"]?.GetValue<bool>() ?? false);
            }
        }
        return new ClassSchema(
            json["className"]!.GetValue<string>(),
            ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, fields),
            json["classLevelPermissions"]?.AsObject().DeepClone().AsObject() ?? ClassLevelPermissionsDefaults.Public(),
            indexes.ToImmutable(),
            json["description"]?.GetValue<string>());
    }
}
