using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Objects;

namespace Crm.Functions.Http;

/// <summary>GET /aggregate/{className}: a pipeline or <c>distinct</c>, master key only (as Parse).</summary>
internal static class AggregateApi
{
    public static void Map(ParseRouter router, Aggregation aggregation)
    {
        router.Add("aggregate", "GET", "/aggregate/{className}", async (call, ct) =>
        {
            var className = call.RouteValue("className");
            if (call.Body["distinct"] is { } distinct)
            {
                var field = distinct is JsonValue v && v.TryGetValue(out string? name) && name.Length > 0
                    ? name : throw new ParseException(ParseError.InvalidQuery, "distinct must name a field.");
                return ApiResult.Ok(new JsonObject { ["results"] = await aggregation.DistinctAsync(call.Auth, className, field, Where(call.Body["where"]), ct) });
            }
            // The pipeline comes as "pipeline" (JSON text in a query string), or the body itself is the stage map (as parse-server accepts).
            var pipeline = call.Body["pipeline"] is { } given ? Json(given, "pipeline") : StageMap(call.Body);
            return ApiResult.Ok(new JsonObject { ["results"] = await aggregation.AggregateAsync(call.Auth, className, pipeline, ct) });
        }, masterOnly: true);
    }

    private static JsonNode? Where(JsonNode? where) => Json(where, "where");

    /// <summary>
    /// A value sent as JSON text (the query string carries them so) parsed as the request reader parses bodies:
    /// a repeated key is invalid JSON here, not a failure on first use later.
    /// </summary>
    private static JsonNode? Json(JsonNode? value, string name)
    {
        if (value is not JsonValue v || !v.TryGetValue(out string? text)) return value;
        try { return JsonNode.Parse(text, documentOptions: ParseRequestReader.JsonLimits); }
        catch (System.Text.Json.JsonException) { throw new ParseException(ParseError.InvalidJson, $"{name} is not valid JSON (or repeats a key)."); }
    }

    private static JsonObject? StageMap(JsonObject body)
    {
        var stages = new JsonObject();
        foreach (var (key, value) in body)
            if (key.StartsWith('$')) stages[key] = Json(value?.DeepClone(), key);
        return stages.Count == 0 ? null : stages;
    }
}
