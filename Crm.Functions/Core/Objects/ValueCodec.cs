using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;

namespace Crm.Functions.Core;

/// <summary>
/// Parse's data types on the way in: validation (111 for a malformed typed value, 121 for bad nested keys,
/// 105 for prohibited keywords), normalisation (dates to one ISO format, pointers stripped to class and id),
/// and type inference for schema evolution.
/// </summary>
internal static class ValueCodec
{
    /// <summary>The schema type a (normalised) value implies, or null for null.</summary>
    public static FieldDefinition? InferType(JsonNode? value) => value switch
    {
        null => null,
        JsonArray => new FieldDefinition(FieldType.Array),
        JsonObject o when o["__type"]?.ToString() is { } type => type switch
        {
            "Date" => new FieldDefinition(FieldType.Date),
            "Pointer" or "Object" => new FieldDefinition(FieldType.Pointer, o["className"]?.ToString()),
            "Relation" => new FieldDefinition(FieldType.Relation, o["className"]?.ToString()),
            "File" => new FieldDefinition(FieldType.File),
            "GeoPoint" => new FieldDefinition(FieldType.GeoPoint),
            "Polygon" => new FieldDefinition(FieldType.Polygon),
            "Bytes" => new FieldDefinition(FieldType.Bytes),
            _ => null,
        },
        JsonObject => new FieldDefinition(FieldType.Object),
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => new FieldDefinition(FieldType.String),
            JsonValueKind.Number => new FieldDefinition(FieldType.Number),
            JsonValueKind.True or JsonValueKind.False => new FieldDefinition(FieldType.Boolean),
            _ => null,
        },
        _ => null,
    };

    /// <summary>Validates and normalises a value to store. <paramref name="top"/> is false inside arrays and objects.</summary>
    public static JsonNode? Normalize(JsonNode? value, string field, bool top = true)
    {
        switch (value)
        {
            case null:
                return null;
            case JsonValue v:
                if (v.GetValueKind() == JsonValueKind.Number && !double.IsFinite(v.GetValue<double>()))
                    throw new ParseException(ParseError.IncorrectType, $"{field} is not a finite number");
                return v.DeepClone();
            case JsonArray a:
                return new JsonArray(a.Select(item => Normalize(item, field, top: false)).ToArray());
            case JsonObject o when o.ContainsKey("__type"):
                return NormalizeTyped(o, field);
            case JsonObject o when o.ContainsKey("__op"):
                throw new ParseException(ParseError.InvalidNestedKey, $"Nested keys should not contain the '$' or '.' characters ({field}.__op)");
            case JsonObject o:
                var result = new JsonObject();
                foreach (var (key, child) in o)
                {
                    if (Names.ProhibitedKeys.Contains(key)) throw new ParseException(ParseError.InvalidKeyName, "Prohibited keyword in request data");
                    if (key.Contains('$') || key.Contains('.'))
                        throw new ParseException(ParseError.InvalidNestedKey, "Nested keys should not contain the '$' or '.' characters");
                    result[key] = Normalize(child, field, top: false);
                }
                return result;
            default:
                return value.DeepClone();
        }
    }

    private static JsonObject NormalizeTyped(JsonObject o, string field)
    {
        var type = o["__type"] is JsonValue t && t.TryGetValue(out string? s) ? s : null;
        switch (type)
        {
            case "Date":
                if (o["iso"] is JsonValue iso && iso.TryGetValue(out string? text) && ParseDates.TryNormalize(text, out var normalized))
                    return new JsonObject { ["__type"] = "Date", ["iso"] = normalized };
                throw new ParseException(ParseError.IncorrectType, $"This is not a valid Date ({field})");
            case "Pointer" or "Object":
                if (WhereParser.TryPointer(o, out var p) && Names.IsValidClass(p.ClassName) && ObjectIds.IsValid(p.ObjectId))
                    return Pointer(p.ClassName, p.ObjectId);
                throw new ParseException(ParseError.IncorrectType, $"This is not a valid Pointer ({field})");
            case "File":
                if (o["name"] is JsonValue n && n.TryGetValue(out string? name) && name.Length is > 0 and <= 512 && !name.Contains('/'))
                    return new JsonObject { ["__type"] = "File", ["name"] = name };
                throw new ParseException(ParseError.IncorrectType, $"This is not a valid File ({field})");
            case "GeoPoint":
                if (Number(o["latitude"]) is { } lat and >= -90 and <= 90 && Number(o["longitude"]) is { } lng and >= -180 and <= 180)
                    return new JsonObject { ["__type"] = "GeoPoint", ["latitude"] = lat, ["longitude"] = lng };
                throw new ParseException(ParseError.IncorrectType, $"This is not a valid GeoPoint ({field})");
            case "Polygon":
                if (o["coordinates"] is JsonArray coords && coords.Count >= 3 && coords.Count <= 10_000
                    && coords.All(c => c is JsonArray pair && pair.Count == 2 && Number(pair[0]) is not null && Number(pair[1]) is not null))
                    return new JsonObject { ["__type"] = "Polygon", ["coordinates"] = coords.DeepClone() };
                throw new ParseException(ParseError.IncorrectType, $"This is not a valid Polygon ({field})");
            case "Bytes":
                if (o["base64"] is JsonValue b && b.TryGetValue(out string? base64) && IsBase64(base64))
                    return new JsonObject { ["__type"] = "Bytes", ["base64"] = base64 };
                throw new ParseException(ParseError.IncorrectType, $"This is not a valid Bytes ({field})");
            case "Relation":
                throw new ParseException(ParseError.IncorrectType, $"Relation fields are changed with AddRelation/RemoveRelation ({field})");
            default:
                throw new ParseException(ParseError.IncorrectType, $"invalid type: {Names.Truncate(type ?? "null")} ({field})");
        }
    }

    public static JsonObject Pointer(string className, string objectId) =>
        new() { ["__type"] = "Pointer", ["className"] = className, ["objectId"] = objectId };

    private static double? Number(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.GetValue<double>() is var d && double.IsFinite(d) ? d : null;

    private static bool IsBase64(string text)
    {
        var buffer = new byte[text.Length];
        return Convert.TryFromBase64String(text, buffer, out _);
    }

    /// <summary>Deep equality of two JSON values (pointers by class and id), for AddUnique and Remove.</summary>
    public static bool ValueEquals(JsonNode? a, JsonNode? b)
    {
        if (a is JsonObject pa && b is JsonObject pb && pa["__type"]?.ToString() is "Pointer" or "Object" && pb["__type"]?.ToString() is "Pointer" or "Object")
            return pa["className"]?.ToString() == pb["className"]?.ToString() && pa["objectId"]?.ToString() == pb["objectId"]?.ToString();
        return JsonNode.DeepEquals(a, b);
    }
}
