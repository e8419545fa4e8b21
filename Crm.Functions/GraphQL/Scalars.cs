using System.Text.Json.Nodes;
using Crm.Functions.Core.Json;
using GraphQL.Types;
using GraphQLParser.AST;

namespace Crm.Functions.GraphQL;

/// <summary>
/// <c>Date</c>: ISO strings out; an ISO string or Parse's <c>{"__type":"Date","iso":…}</c> in. Inputs become
/// Parse date JSON at once, so where and write translation just copy them.
/// </summary>
internal sealed class DateScalar : ScalarGraphType
{
    public DateScalar() => Name = "Date";

    public override object? Serialize(object? value) => value switch
    {
        null => null,
        string s => s,
        JsonObject o => JsonValues.Text(o["iso"]),
        JsonValue v => JsonValues.Text(v),
        _ => ThrowSerializationError(value),
    };

    public override object? ParseValue(object? value) => value switch
    {
        null => null,
        string s => FromIso(s),
        IDictionary<string, object?> d when d.TryGetValue("iso", out var iso) && iso is string s => FromIso(s),
        _ => ThrowValueConversionError(value),
    };

    public override object? ParseLiteral(GraphQLValue value) => value switch
    {
        GraphQLNullValue => null,
        GraphQLStringValue s => FromIso(s.Value.ToString()),
        GraphQLObjectValue o => ParseValue(JsonValues.FromLiteral(o)),
        _ => ThrowLiteralConversionError(value),
    };

    private static JsonObject FromIso(string iso) =>
        ParseDates.TryNormalize(iso, out var normalized)
            ? new JsonObject { ["__type"] = "Date", ["iso"] = normalized }
            : throw new FormatException($"'{Names.Truncate(iso)}' is not an ISO 8601 date.");
}

/// <summary><c>Object</c>: any JSON object (Parse Object fields).</summary>
internal sealed class ObjectScalar : ScalarGraphType
{
    public ObjectScalar() => Name = "Object";

    public override object? Serialize(object? value) => value is JsonNode n ? JsonValues.ToClr(n) : value;

    public override object? ParseValue(object? value) => value switch
    {
        null => null,
        IDictionary<string, object?> => JsonValues.FromClr(value),
        _ => ThrowValueConversionError(value),
    };

    public override object? ParseLiteral(GraphQLValue value) => value switch
    {
        GraphQLNullValue => null,
        GraphQLObjectValue => JsonValues.FromClr(JsonValues.FromLiteral(value)),
        _ => ThrowLiteralConversionError(value),
    };
}

/// <summary><c>Any</c>: any JSON value (Array elements, key/value constraints).</summary>
internal sealed class AnyScalar : ScalarGraphType
{
    public AnyScalar() => Name = "Any";

    public override object? Serialize(object? value) => value is JsonNode n ? JsonValues.ToClr(n) : value;

    public override object? ParseValue(object? value) => value is null ? null : new Boxed(JsonValues.FromClr(value));

    public override object? ParseLiteral(GraphQLValue value) =>
        value is GraphQLNullValue ? null : new Boxed(JsonValues.FromClr(JsonValues.FromLiteral(value)));

    /// <summary>Keeps a parsed value as JSON: a bare JsonValue would be mistaken for a list or dictionary later.</summary>
    internal sealed record Boxed(JsonNode? Node);
}

/// <summary><c>Bytes</c>: base64 text out and in (or Parse's <c>{"__type":"Bytes","base64":…}</c>).</summary>
internal sealed class BytesScalar : ScalarGraphType
{
    public BytesScalar() => Name = "Bytes";

    public override object? Serialize(object? value) => value switch
    {
        null => null,
        string s => s,
        JsonObject o => JsonValues.Text(o["base64"]),
        _ => ThrowSerializationError(value),
    };

    public override object? ParseValue(object? value) => value switch
    {
        null => null,
        string s => new JsonObject { ["__type"] = "Bytes", ["base64"] = s },
        IDictionary<string, object?> d when d.TryGetValue("base64", out var b) && b is string s => new JsonObject { ["__type"] = "Bytes", ["base64"] = s },
        _ => ThrowValueConversionError(value),
    };

    public override object? ParseLiteral(GraphQLValue value) => value switch
    {
        GraphQLNullValue => null,
        GraphQLStringValue s => ParseValue(s.Value.ToString()),
        GraphQLObjectValue o => ParseValue(JsonValues.FromLiteral(o)),
        _ => ThrowLiteralConversionError(value),
    };
}
