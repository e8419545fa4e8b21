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
            // The pipeline comes as "pipeline", or the body itself is the stage map (as parse-server accepts).
            var pipeline = call.Body["pipeline"] ?? StageMap(call.Body);
            return ApiResult.Ok(new JsonObject { ["results"] = await aggregation.AggregateAsync(call.Auth, className, pipeline, ct) });
        }, masterOnly: true);
    }

    private static JsonNode? Where(JsonNode? where) => where is JsonValue v && v.TryGetValue(out string? text) ? ParseJson(text) : where;

    private static JsonNode? ParseJson(string text)
    {
        try { return JsonNode.Parse(text, documentOptions: ParseRequestReader.JsonLimits); }
        catch (System.Text.Json.JsonException) { throw new ParseException(ParseError.InvalidJson, "where is not valid JSON (or repeats a key)."); }
    }

    private static JsonObject? StageMap(JsonObject body)
    {
        var stages = new JsonObject();
        foreach (var (key, value) in body)
            if (key.StartsWith('$')) stages[key] = value is JsonValue v && v.TryGetValue(out string? text) ? ParseJson(text) : value?.DeepClone();
        return stages.Count == 0 ? null : stages;
    }
}
