using System.Text.Json.Nodes;
using Crm.Functions.Core;

namespace Crm.Functions.Http;

/// <summary>
/// POST /batch: each sub-request is routed through the same <see cref="ParseRouter"/> with the outer
/// request's caller (sub-requests cannot carry their own credentials), in order, and answers
/// <c>{"success":…}</c> or <c>{"error":…}</c> in a bare array.
/// </summary>
internal static class BatchApi
{
    public static void Map(ParseRouter router, ParseSettings settings)
    {
        router.Add("batch", "POST", "/batch", async (call, ct) =>
        {
            if (call.Body["requests"] is not JsonArray requests) throw new ParseException(ParseError.InvalidJson, "requests must be an array");
            if (requests.Count > settings.Limits.MaxBatchSize)
                throw new ParseException(ParseError.InvalidJson, $"A batch may hold at most {settings.Limits.MaxBatchSize} requests.");
            if (call.Body["transaction"] is JsonValue t && t.TryGetValue(out bool transaction) && transaction && requests.Count > 1)
                throw new ParseException(ParseError.InvalidQuery, "Batch transactions are not supported by this server; send the requests without transaction: true.");

            // Route everything first: an unroutable path fails the whole batch before anything runs.
            var planned = new List<(ParseRoute Route, Dictionary<string, string> Values, string Method, string Path, JsonObject Body)>();
            foreach (var item in requests)
            {
                if (item is not JsonObject request || request["method"] is not JsonValue mv || !mv.TryGetValue(out string? method)
                    || request["path"] is not JsonValue pv || !pv.TryGetValue(out string? path))
                    throw new ParseException(ParseError.InvalidJson, "each batch request needs a method and a path");
                var relative = ParseRequestReader.BatchPath(path, settings.MountPath)
                               ?? throw new ParseException(ParseError.InvalidJson, $"cannot route batch path {Core.Json.Names.Truncate(path)}");
                var (route, values) = router.Match(method.ToUpperInvariant(), relative.Path)
                                      ?? throw new ParseException(ParseError.InvalidJson, $"cannot route batch path {Core.Json.Names.Truncate(path)}");
                if (route.Function == "batch") throw new ParseException(ParseError.InvalidJson, "batch requests cannot be nested");
                var body = request["body"] switch
                {
                    null => new JsonObject(),
                    JsonObject o => (JsonObject)o.DeepClone(),
                    _ => throw new ParseException(ParseError.InvalidJson, "batch request body must be an object"),
                };
                foreach (var (key, value) in relative.Query) body.TryAdd(key, value);
                planned.Add((route, values, method.ToUpperInvariant(), relative.Path, body));
            }

            var results = new JsonArray();
            foreach (var (route, values, method, path, body) in planned)
            {
                try
                {
                    var sub = new ParseCall
                    {
                        Method = method, Path = path, Body = body, Auth = call.Auth, Route = values, ServerUrl = call.ServerUrl,
                        InstallationId = call.InstallationId, RawSessionToken = call.RawSessionToken,
                    };
                    var result = await route.InvokeAsync(sub, ct);
                    results.Add(new JsonObject { ["success"] = result.Body });
                }
                catch (Exception e) when (ErrorResponses.TryMap(e, out var error))
                {
                    // An expected failure answers for its item only; anything else fails the whole batch (500).
                    results.Add(new JsonObject { ["error"] = error.Body });
                }
            }
            return ApiResult.Ok(results);
        });
    }
}
