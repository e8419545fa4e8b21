using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.History;

namespace Crm.Functions.Http;

/// <summary>
/// <c>GET /classes/{className}/{objectId}/history</c>: an object's recorded changes, newest first, for whoever may read
/// the object (<see cref="HistoryService"/>; docs/history.md).
/// </summary>
internal static class HistoryApi
{
    public static void Map(ParseRouter router, HistoryService history)
    {
        router.Add("history", "GET", "/classes/{className}/{objectId}/history", async (call, ct) =>
        {
            foreach (var (key, _) in call.Body)
                if (key is not ("limit" or "skip"))
                    throw new ParseException(ParseError.InvalidQuery, $"Invalid parameter for history: {Core.Json.Names.Truncate(key)}");
            var entries = await history.ReadAsync(call.Auth, call.RouteValue("className"), call.RouteValue("objectId"),
                QueryParameters.Integer(call.Body["limit"], "limit"), QueryParameters.Integer(call.Body["skip"], "skip"), ct);
            return ApiResult.Ok(new JsonObject { ["results"] = new JsonArray([.. entries]) });
        });
    }
}
