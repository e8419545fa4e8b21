using System.Text.Json.Nodes;
using Crm.Functions.Core;

namespace Crm.Functions.Http;

/// <summary>
/// POST /batch: each sub-request is routed through the same <see cref="ParseRouter"/> with the outer
/// request's caller (sub-requests cannot carry their own credentials), in order, and answers
/// <c>{"success":…}</c> or <c>{"error":…}</c> in a bare array. With <c>"transaction": true</c> the batch is one
/// all-or-nothing unit of the store (<see cref="DataService.TransactionAsync"/>): when any sub-request fails, none of
/// them is kept and the batch fails as a whole (see <see cref="RolledBack"/>).
/// </summary>
internal static class BatchApi
{
    public static void Map(ParseRouter router, ParseSettings settings, DataService data)
    {
        router.Add("batch", "POST", "/batch", async (call, ct) =>
        {
            if (call.Body["requests"] is not JsonArray requests) throw new ParseException(ParseError.InvalidJson, "requests must be an array");
            if (requests.Count > settings.Limits.MaxBatchSize)
                throw new ParseException(ParseError.InvalidJson, $"A batch may hold at most {settings.Limits.MaxBatchSize} requests.");
            var transaction = call.Body["transaction"] is JsonValue t && t.TryGetValue(out bool on) && on;

            // Route everything first: an unroutable path fails the whole batch before anything runs.
            var planned = new List<Planned>();
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
                planned.Add(new Planned(route, values, method.ToUpperInvariant(), relative.Path, body));
            }

            if (!transaction) return ApiResult.Ok(await RunAsync(planned, call, ct));
            try
            {
                return ApiResult.Ok(await data.TransactionAsync(async attempt =>
                {
                    var results = await RunAsync(planned, call, attempt);
                    return results.Any(r => r?["error"] is not null) ? throw new RolledBack(results) : results;
                }, ct));
            }
            catch (RolledBack rolledBack)
            {
                return rolledBack.Answer();
            }
        });
    }

    private sealed record Planned(ParseRoute Route, Dictionary<string, string> Values, string Method, string Path, JsonObject Body);

    /// <summary>
    /// Runs every sub-request, in order, each answering for itself. In a transaction every one runs even after one
    /// failed, as Parse does, so the answer names each failure.
    /// </summary>
    private static async Task<JsonArray> RunAsync(List<Planned> planned, ParseCall call, CancellationToken ct)
    {
        var results = new JsonArray();
        foreach (var (route, values, method, path, body) in planned)
        {
            try
            {
                var sub = new ParseCall
                {
                    // Each run gets its own copy: a transaction the store runs again must start from the request as sent.
                    Method = method, Path = path, Body = (JsonObject)body.DeepClone(), Auth = call.Auth, Route = values, ServerUrl = call.ServerUrl,
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
        return results;
    }

    /// <summary>
    /// A transactional batch in which a sub-request failed: thrown out of the unit so the store rolls it back. The
    /// answer is the first failure as the batch's own Parse error (its code, message and status), which is what the JS
    /// SDK reads (saveAll rejects with it as code 111 per object, destroyAll with the code itself), plus
    /// <c>results</c>: every sub-request's answer inside the transaction in the batch item shape, none of them kept.
    /// parse-server 9.10 answers such a batch with a 500 "Internal server error." (which the SDK retries), hiding the same
    /// per-request list; this server says what failed instead.
    /// </summary>
    private sealed class RolledBack(JsonArray results) : Exception("A transactional batch was rolled back.")
    {
        public ApiResult Answer()
        {
            var first = results.First(r => r?["error"] is not null)!["error"]!;
            var code = first["code"]?.GetValue<int>() ?? ParseError.InternalServerError;
            var body = new JsonObject
            {
                ["code"] = code,
                ["error"] = first["error"]?.DeepClone(),
                ["results"] = results.DeepClone(),
            };
            return new ApiResult(ErrorResponses.StatusFor(code), body);
        }
    }
}
