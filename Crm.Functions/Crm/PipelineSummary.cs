using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Triggers;

namespace Crm.Functions.Crm;

/// <summary>
/// <c>POST /functions/pipelineSummary</c>: deal count and amount per stage, over the deals the caller can see.
/// Everything goes through <see cref="DataService"/> with the caller's auth, so CLP and ACLs decide exactly
/// as for a query. Counts are the store's own count (no objects loaded). Sums page through the deals of a
/// stage by objectId (keyset pagination: each page is an indexed range scan, unlike skip, whose cost
/// grows with the offset), projecting to <c>amount</c>, so at most one page is in memory at a time. This keeps the
/// store seam unchanged, so the SQLite and Cosmos stores need nothing new.
/// </summary>
internal sealed class PipelineSummary(DataService data)
{
    private const int PageSize = 1000;

    public async Task<JsonNode?> RunAsync(FunctionCall call, CancellationToken ct)
    {
        var stages = new JsonArray();
        long totalCount = 0;
        double totalAmount = 0;
        foreach (var stage in CrmTemplate.PipelineStages)
        {
            var counted = await data.FindAsync(call.Auth, "Deal",
                new FindRequest { Where = new JsonObject { ["stage"] = stage }, Limit = 0, Count = true }, ct);
            var count = counted.Count ?? 0;
            var amount = count == 0 ? 0 : await SumAsync(call, stage, ct);
            stages.Add(new JsonObject { ["stage"] = stage, ["count"] = count, ["amount"] = amount });
            totalCount += count;
            totalAmount += amount;
        }
        return new JsonObject
        {
            ["stages"] = stages,
            ["total"] = new JsonObject { ["count"] = totalCount, ["amount"] = totalAmount },
        };
    }

    private async Task<double> SumAsync(FunctionCall call, string stage, CancellationToken ct)
    {
        double sum = 0;
        string? after = null;
        while (true)
        {
            var where = new JsonObject { ["stage"] = stage };
            if (after is not null) where["objectId"] = new JsonObject { ["$gt"] = after };
            var page = await data.FindAsync(call.Auth, "Deal",
                new FindRequest { Where = where, Order = "objectId", Limit = PageSize, Keys = ["amount"] }, ct);
            foreach (var deal in page.Results)
                if (deal["amount"] is JsonValue v && v.TryGetValue(out double amount) && double.IsFinite(amount)) sum += amount;
            // An empty page ends it, not a short one: Parse:Limits:MaxLimit may clamp the page below PageSize.
            if (page.Results.Count == 0) return sum;
            after = page.Results[^1]["objectId"]!.GetValue<string>();
        }
    }
}
