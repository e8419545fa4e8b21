using Crm.Functions.Core.Json;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Store;

namespace Crm.Functions.Core;

/// <summary>Journaled writes (<see cref="IChangeJournal"/>): the records a change must not exist without, stored with it.</summary>
internal sealed partial class DataService
{
    /// <summary>The journals recording this kind of change of the class; null (the plain write path, no extra work) when none does.</summary>
    private IChangeJournal[]? JournalsFor(string className, string kind)
    {
        if (_journals.Length == 0) return null;
        var inSinglePartitionUnit = !store.UnitsSpanClasses && _afterCommit.Value is not null;
        IChangeJournal[]? found = null;
        foreach (var journal in _journals)
            if (journal.Records(className, kind) && !(inSinglePartitionUnit && journal.SkippedInSinglePartitionUnits)) found = [.. found ?? [], journal];
        return found;
    }

    /// <summary>
    /// Stamps the change on the new state (id and sequence, <see cref="JournaledWrites.Stamp"/>) and collects the journals'
    /// records. On a store whose units cannot span classes they are inserted held now, before the change is written;
    /// <paramref name="previousAttempt"/>'s held records (a write run again after losing a race) are dropped first.
    /// </summary>
    private async Task<List<StoredObject>> PrepareRecordsAsync(IChangeJournal[] journals, string kind, Auth auth, ClassSchema schema,
        StoredObject? before, StoredObject? after, List<StoredObject>? previousAttempt, CancellationToken ct)
    {
        if (previousAttempt is not null && !store.UnitsSpanClasses) await DropAsync(previousAttempt);
        var changeId = ObjectIds.New(16);
        var sequence = after is not null ? JournaledWrites.Stamp(before, after, changeId) : JournaledWrites.SequenceOf(before) + 1;
        var change = new JournalChange(kind, auth, schema, before, after, changeId, sequence, time.GetUtcNow());
        var records = journals.SelectMany(j => j.RecordsFor(change)).ToList();
        if (!store.UnitsSpanClasses)
        {
            foreach (var record in records)
            {
                JournaledWrites.Hold(record);
                await store.InsertAsync(record, [], ct);
            }
        }
        return records;
    }

    /// <summary>
    /// Runs a write (null: nothing matched) with its records: in the same unit (SQLite), or — records already held — releasing
    /// them once it committed and dropping them when it did not.
    /// </summary>
    private async Task<T?> JournaledAsync<T>(Func<Task<T?>> write, Func<List<StoredObject>?> records, CancellationToken ct) where T : class
    {
        if (store.UnitsSpanClasses)
        {
            return await store.TransactionAsync(async _ =>
            {
                var result = await write();
                if (result is not null)
                    foreach (var record in records() ?? []) await store.InsertAsync(record, [], ct);
                return result;
            }, ct);
        }
        T? written;
        try
        {
            written = await write();
        }
        catch
        {
            await DropAsync(records());
            throw;
        }
        if (written is null) await DropAsync(records());
        else await ReleaseAsync(records());
        return written;
    }

    private Task<T?> JournaledOrPlainAsync<T>(IChangeJournal[]? journals, Func<Task<T?>> write, Func<List<StoredObject>?> records, CancellationToken ct)
        where T : class => journals is null ? write() : JournaledAsync(write, records, ct);

    private async Task DropAsync(List<StoredObject>? records)
    {
        // Not the request's token nor its budget: a record of a write that did not happen must go even when the request
        // was cancelled or has run out of time.
        using var outsideBudget = Requests.RequestBudget.Suspend();
        foreach (var record in records ?? [])
            await store.DeleteAsync(record.ClassName, record.ObjectId, QueryNode.True, CancellationToken.None);
    }

    private async Task ReleaseAsync(List<StoredObject>? records)
    {
        // A record left held here (the process died) is released by JournalRecovery, which finds its change on the object.
        // The change has committed: running out of the request's time now would answer 124 for a stored write.
        using var outsideBudget = Requests.RequestBudget.Suspend();
        foreach (var record in records ?? [])
            await store.UpdateAsync(record.ClassName, record.ObjectId, QueryNode.True,
                held => ValueTask.FromResult(JournaledWrites.Released(held) is { } released ? new ObjectWrite(released, []) : null),
                CancellationToken.None);
    }
}
