using Crm.Functions.Core.Json;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Store;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Core.History;

/// <summary>
/// Keeps the history within its retention (<see cref="HistorySettings.RetentionDays"/>): every
/// <see cref="HistorySettings.PruneIntervalSeconds"/> it deletes the entries older than that, in batches of
/// <see cref="BatchSize"/>, so one round never holds the store for long whatever has piled up. On stores that hold
/// entries until their change commits (Cosmos DB) it also settles the entries a crashed write left held
/// (<see cref="JournalRecovery"/>). Every instance may run it: deleting an entry twice is harmless.
/// </summary>
internal sealed class HistoryPruner(IObjectStore store, JournalRecovery recovery, IOptions<ParseSettings> options, TimeProvider time,
    ILogger<HistoryPruner> log) : BackgroundService
{
    public const int BatchSize = 200;

    /// <summary>Held entries younger than this may belong to a write still under way.</summary>
    private static readonly TimeSpan HeldGrace = TimeSpan.FromSeconds(60);

    private static readonly FieldDefinition Text = new(FieldType.String);

    private readonly HistorySettings _settings = options.Value.History;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(Math.Max(0.05, _settings.PruneIntervalSeconds));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!store.UnitsSpanClasses) await recovery.SettleAsync(HistoryJournal.ClassName, HeldGrace, stoppingToken);
                var pruned = await PruneAsync(stoppingToken);
                if (pruned > 0) log.LogInformation("Pruned {Count} history entries older than {Days} days.", pruned, _settings.RetentionDays);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // The store may be starting or briefly unavailable: expired entries are still there next round.
                log.LogWarning(e, "Pruning the record history failed; retrying.");
            }
            try { await Task.Delay(interval, stoppingToken); }
            catch (OperationCanceledException) { break; }
        }
    }

    /// <summary>Deletes every entry older than the retention, batch by batch; returns how many.</summary>
    public async Task<int> PruneAsync(CancellationToken ct)
    {
        if (_settings.RetentionDays <= 0) return 0;
        var before = ParseDates.Format(time.GetUtcNow() - TimeSpan.FromDays(_settings.RetentionDays));
        var where = new CompareNode(FieldRef.Of(JournaledWrites.ChangedAtField, Text), CompareOp.Lt, new StringValue(before));
        var total = 0;
        while (!ct.IsCancellationRequested)
        {
            var expired = await store.FindAsync(new StoreQuery(HistoryJournal.ClassName, where, [], 0, BatchSize), ct);
            foreach (var entry in expired)
                await store.DeleteAsync(HistoryJournal.ClassName, entry.ObjectId, QueryNode.True, ct);
            total += expired.Count;
            if (expired.Count < BatchSize) break;
            // Between batches, let the requests the store also serves go first.
            await Task.Delay(TimeSpan.FromMilliseconds(50), ct);
        }
        return total;
    }
}
