using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Core;

namespace Crm.Functions.Http;

/// <summary>Reads Parse query parameters from a merged body: strings or JSON, numbers or numeric strings (Android sends both).</summary>
internal static class QueryParameters
{
    private static readonly HashSet<string> FindKeys =
    [
        "where", "order", "limit", "skip", "keys", "excludeKeys", "include", "includeAll", "count", "redirectClassNameForKey",
        "readPreference", "includeReadPreference", "subqueryReadPreference", "hint", "explain", "comment",
    ];

    private static readonly HashSet<string> GetKeys = ["keys", "include", "excludeKeys", "readPreference", "includeReadPreference", "subqueryReadPreference"];

    public static FindRequest ForFind(JsonObject body)
    {
        foreach (var (key, _) in body)
            if (!FindKeys.Contains(key)) throw new ParseException(ParseError.InvalidQuery, $"Invalid parameter for query: {Core.Json.Names.Truncate(key)}");
        var include = List(body["include"], "include")?.ToList();
        if (Bool(body["includeAll"])) (include ??= []).Add("*");
        return new FindRequest
        {
            Where = Where(body["where"]),
            Order = Text(body["order"], "order") is { } order ? order : List(body["order"], "order") is { } list ? string.Join(',', list) : null,
            Limit = Integer(body["limit"], "limit"),
            Skip = Integer(body["skip"], "skip") ?? 0,
            Keys = List(body["keys"], "keys"),
            ExcludeKeys = List(body["excludeKeys"], "excludeKeys"),
            Include = include,
            Count = Bool(body["count"]),
            RedirectClassNameForKey = Text(body["redirectClassNameForKey"], "redirectClassNameForKey"),
        };
    }

    public static FindRequest ForGet(JsonObject body)
    {
        foreach (var (key, _) in body)
            if (!GetKeys.Contains(key)) throw new ParseException(ParseError.InvalidQuery, "Improper encode of parameter");
        return new FindRequest { Keys = List(body["keys"], "keys"), ExcludeKeys = List(body["excludeKeys"], "excludeKeys"), Include = List(body["include"], "include") };
    }

    private static JsonNode? Where(JsonNode? node)
    {
        if (node is JsonValue v && v.TryGetValue(out string? text))
        {
            try { return JsonNode.Parse(text, null, ParseRequestReader.JsonLimits); }
            catch (JsonException) { throw new ParseException(ParseError.InvalidJson, "where must be valid JSON"); }
        }
        return node is null or JsonObject ? node : throw new ParseException(ParseError.InvalidJson, "where must be a JSON object");
    }

    private static string? Text(JsonNode? node, string name) => node switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        JsonArray => null,
        _ => throw new ParseException(ParseError.InvalidQuery, $"{name} must be a string"),
    };

    private static IReadOnlyList<string>? List(JsonNode? node, string name) => node switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        JsonArray a when a.Count <= 1000 && a.All(i => i is JsonValue iv && iv.TryGetValue(out string? _)) => a.Select(i => i!.GetValue<string>()).ToList(),
        _ => throw new ParseException(ParseError.InvalidQuery, $"{name} must be a comma-separated string"),
    };

    internal static int? Integer(JsonNode? node, string name)
    {
        double value;
        switch (node)
        {
            case null: return null;
            case JsonValue v when v.GetValueKind() == JsonValueKind.Number: value = v.GetValue<double>(); break;
            case JsonValue v when v.TryGetValue(out string? s) && double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var parsed): value = parsed; break;
            default: throw new ParseException(ParseError.InvalidQuery, $"{name} must be a number");
        }
        if (double.IsNaN(value)) throw new ParseException(ParseError.InvalidQuery, $"{name} must be a number");
        if (value < 0) throw new ParseException(ParseError.InvalidQuery, $"{name} must not be negative");
        return value >= int.MaxValue ? int.MaxValue : (int)Math.Floor(value);
    }

    private static bool Bool(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue(out bool b) => b,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.GetValue<double>() != 0,
        JsonValue v when v.TryGetValue(out string? s) => s is "1" or "true",
        _ => false,
    };
}
