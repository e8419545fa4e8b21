using System.Globalization;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Triggers;

namespace Crm.Functions.Crm;

/// <summary>
/// <c>POST /functions/pipelineSummary</c>: the pipeline as the caller sees it — per stage the deal count, amount, the
/// stage's win probability (the template's <c>stageProbabilities</c>) and the amount weighted by it; the total and its
/// forecast (the sum of the weighted amounts); deals won and lost per month over the last 12 months (by expected close
/// date); and a breakdown per owner (the deal's assignee). Everything goes through <see cref="DataService"/> with the
/// caller's auth, so CLP and ACLs decide exactly as for a query: owners appear only through deals the caller can read.
/// The deals are read once, paged by objectId (keyset pagination: each page is an indexed range scan, unlike skip,
/// whose cost grows with the offset) and projected to the fields summed, so at most one page is in memory at a time.
/// This keeps the store seam unchanged, so the SQLite and Cosmos stores need nothing new.
/// </summary>
internal sealed class PipelineSummary(DataService data, TimeProvider time)
{
    private const int PageSize = 1000;
    private const int TrendMonths = 12;

    private sealed class Tally
    {
        public long Count;
        public double Amount;
        public double Weighted;

        public void Add(double amount, double probability)
        {
            Count++;
            Amount += amount;
            Weighted += amount * probability / 100;
        }

        public JsonObject ToJson() => new() { ["count"] = Count, ["amount"] = Amount };
    }

    public async Task<JsonNode?> RunAsync(FunctionCall call, CancellationToken ct)
    {
        var stages = CrmTemplate.PipelineStages.ToDictionary(s => s, _ => new Tally(), StringComparer.Ordinal);
        var total = new Tally();
        var now = time.GetUtcNow();
        var firstMonth = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1 - TrendMonths);
        var months = Enumerable.Range(0, TrendMonths).Select(i => firstMonth.AddMonths(i).ToString("yyyy-MM", CultureInfo.InvariantCulture)).ToList();
        var won = months.ToDictionary(m => m, _ => new Tally(), StringComparer.Ordinal);
        var lost = months.ToDictionary(m => m, _ => new Tally(), StringComparer.Ordinal);
        var owners = new Dictionary<string, (Tally All, Tally Open, Tally Won)>(StringComparer.Ordinal);

        await foreach (var deal in DealsAsync(call, ct))
        {
            // A deal whose stage is not in the pipeline (written before the rules, or by the master key) is left out.
            if (deal["stage"]?.ToString() is not { } stage || !stages.TryGetValue(stage, out var tally)) continue;
            var amount = CrmRules.Number(deal["amount"]) is { } a && double.IsFinite(a) ? a : 0;
            var probability = CrmTemplate.StageProbabilities[stage];
            tally.Add(amount, probability);
            total.Add(amount, probability);

            if (stage is "won" or "lost" && Month(deal["expectedCloseDate"]) is { } month && (stage == "won" ? won : lost).TryGetValue(month, out var bucket))
                bucket.Add(amount, probability);

            var owner = deal["assignedTo"]?["objectId"]?.ToString() ?? "";
            if (!owners.TryGetValue(owner, out var o)) owners[owner] = o = (new Tally(), new Tally(), new Tally());
            o.All.Add(amount, probability);
            if (stage == "won") o.Won.Add(amount, probability);
            else if (stage != "lost") o.Open.Add(amount, probability);
        }

        var names = await OwnerNamesAsync(call, owners.Keys.Where(k => k.Length > 0), ct);
        return new JsonObject
        {
            ["stages"] = new JsonArray([.. CrmTemplate.PipelineStages.Select(s => (JsonNode)new JsonObject
            {
                ["stage"] = s, ["count"] = stages[s].Count, ["amount"] = stages[s].Amount,
                ["probability"] = CrmTemplate.StageProbabilities[s], ["weightedAmount"] = Math.Round(stages[s].Weighted, 2),
            })]),
            ["total"] = new JsonObject { ["count"] = total.Count, ["amount"] = total.Amount, ["forecast"] = Math.Round(total.Weighted, 2) },
            ["trend"] = new JsonArray([.. months.Select(m => (JsonNode)new JsonObject { ["month"] = m, ["won"] = won[m].ToJson(), ["lost"] = lost[m].ToJson() })]),
            ["owners"] = new JsonArray([.. owners.OrderByDescending(o => o.Value.All.Amount).ThenBy(o => o.Key, StringComparer.Ordinal).Select(o => (JsonNode)new JsonObject
            {
                ["owner"] = o.Key.Length == 0 ? null : new JsonObject
                {
                    ["objectId"] = o.Key,
                    ["username"] = names.TryGetValue(o.Key, out var name) ? name : null,
                },
                ["count"] = o.Value.All.Count,
                ["amount"] = o.Value.All.Amount,
                ["weightedAmount"] = Math.Round(o.Value.All.Weighted, 2),
                ["open"] = o.Value.Open.ToJson(),
                ["won"] = o.Value.Won.ToJson(),
            })]),
        };
    }

    /// <summary>Every deal the caller can read, projected to the fields summed, one page at a time.</summary>
    private async IAsyncEnumerable<JsonObject> DealsAsync(FunctionCall call, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        string? after = null;
        while (true)
        {
            var where = after is null ? null : new JsonObject { ["objectId"] = new JsonObject { ["$gt"] = after } };
            var page = await data.FindAsync(call.Auth, "Deal", new FindRequest
            {
                Where = where, Order = "objectId", Limit = PageSize, Keys = ["amount", "stage", "assignedTo", "expectedCloseDate"],
            }, ct);
            foreach (var deal in page.Results) yield return deal;
            // An empty page ends it, not a short one: Parse:Limits:MaxLimit may clamp the page below PageSize.
            if (page.Results.Count == 0) yield break;
            after = page.Results[^1]["objectId"]!.GetValue<string>();
        }
    }

    private static string? Month(JsonNode? date) =>
        date?["iso"]?.ToString() is { } iso && ParseDates.TryNormalize(iso, out var normalized) ? normalized[..7] : null;

    /// <summary>The usernames of the owners the caller can read (users it may not read stay unnamed).</summary>
    private async Task<Dictionary<string, string>> OwnerNamesAsync(FunctionCall call, IEnumerable<string> ids, CancellationToken ct)
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        var list = ids.ToList();
        if (list.Count == 0 || data.Schemas.Get("_User") is null) return names;
        foreach (var chunk in list.Chunk(100))
        {
            try
            {
                var found = await data.FindAsync(call.Auth, "_User", new FindRequest
                {
                    Where = new JsonObject { ["objectId"] = new JsonObject { ["$in"] = new JsonArray([.. chunk.Select(id => (JsonNode)id)]) } },
                    Limit = chunk.Length, Keys = ["username"],
                }, ct);
                foreach (var user in found.Results)
                    if (user["username"]?.ToString() is { } name) names[user["objectId"]!.ToString()] = name;
            }
            catch (ParseException)
            {
                // The caller may not list users at all (a CLP on _User): the owners stay unnamed.
            }
        }
        return names;
    }
}
