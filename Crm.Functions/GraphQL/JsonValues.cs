using System.Collections;
using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using GraphQLParser.AST;

namespace Crm.Functions.GraphQL;

/// <summary>
/// Conversions between Parse's JSON (the core's currency) and the CLR values GraphQL.NET passes around
/// (variables arrive as dictionaries and lists; results are serialized from plain values).
/// </summary>
internal static class JsonValues
{
    public static object? ToClr(JsonNode? node) => node switch
    {
        null => null,
        JsonObject o => o.ToDictionary(kv => kv.Key, kv => ToClr(kv.Value), StringComparer.Ordinal),
        JsonArray a => a.Select(ToClr).ToList(),
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => v.GetValue<string>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number => Number(v),
            _ => null,
        },
        _ => null,
    };

    public static double? Number(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number
            ? double.Parse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture)
            : null;

    public static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue(out string? s) ? s : null;

    public static bool? Bool(JsonNode? node) => node is JsonValue v && v.TryGetValue(out bool b) ? b : null;

    public static JsonNode? FromClr(object? value) => value switch
    {
        null => null,
        AnyScalar.Boxed boxed => boxed.Node?.DeepClone(),
        JsonNode n => n.DeepClone(),
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        int i => JsonValue.Create(i),
        long l => JsonValue.Create(l),
        double d => JsonValue.Create(d),
        float f => JsonValue.Create((double)f),
        decimal m => JsonValue.Create(m),
        BigInteger big => JsonValue.Create((double)big),
        IDictionary<string, object?> dict => new JsonObject(dict.Select(kv => KeyValuePair.Create(kv.Key, FromClr(kv.Value)))),
        IEnumerable list => new JsonArray(list.Cast<object?>().Select(FromClr).ToArray()),
        _ => JsonValue.Create(Convert.ToString(value, CultureInfo.InvariantCulture)),
    };

    /// <summary>A literal written in the query text (for the JSON-like scalars Object and Any).</summary>
    public static object? FromLiteral(GraphQLValue value) => value switch
    {
        GraphQLNullValue => null,
        GraphQLStringValue s => s.Value.ToString(),
        GraphQLBooleanValue b => b.BoolValue,
        GraphQLIntValue i => long.TryParse(i.Value.Span, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l)
            ? l : double.Parse(i.Value.Span, NumberStyles.Float, CultureInfo.InvariantCulture),
        GraphQLFloatValue f => double.Parse(f.Value.Span, NumberStyles.Float, CultureInfo.InvariantCulture),
        GraphQLEnumValue e => e.Name.StringValue,
        GraphQLListValue list => (list.Values ?? []).Select(FromLiteral).ToList(),
        GraphQLObjectValue obj => (obj.Fields ?? []).ToDictionary(f => f.Name.StringValue, f => FromLiteral(f.Value), StringComparer.Ordinal),
        _ => throw new InvalidOperationException("Variables are not allowed inside a JSON literal."),
    };
}
