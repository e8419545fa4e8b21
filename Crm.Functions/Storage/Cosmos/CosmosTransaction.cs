using System.Net;
using Crm.Functions.Core;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Requests;
using Crm.Functions.Core.Store;
using Microsoft.Azure.Cosmos;

namespace Crm.Functions.Storage.Cosmos;

/// <summary>
/// All-or-nothing units (<see cref="IObjectStore.TransactionAsync"/>) on Cosmos DB: the unit's writes are collected
/// while it runs and committed at its end as one <see cref="TransactionalBatch"/>, which Cosmos runs atomically
/// within one partition of one container — so a unit may write objects of one class and one owner (the partition
/// key) only; any other unit is refused with 108 before anything is written (docs/cosmos.md). What lives outside the
/// class's container follows the store's fail-safe order: unique-key reservations are taken as the unit runs and
/// released if it is not committed; relation rows are written after the commit.
/// </summary>
internal sealed partial class CosmosObjectStore
{
    /// <summary>Cosmos's limit on the operations of one transactional batch.</summary>
    private const int MaxTransactionOperations = 100;

    private const int MaxTransactionAttempts = 5;

    private readonly AsyncLocal<CosmosUnit?> _unit = new();

    private enum PendingKind { Create, Replace, Delete }

    /// <summary>The unit's net write to one object: created, replaced (If-Match the version read) or deleted.</summary>
    private sealed class PendingWrite
    {
        public required string ClassName { get; init; }
        public required string ObjectId { get; init; }
        public required string OwnerId { get; init; }
        public required PendingKind Kind { get; set; }
        /// <summary>The committed version the unit read; null for an object the unit creates.</summary>
        public StoredObject? Original { get; init; }
        /// <summary>The state to write; null once deleted.</summary>
        public StoredObject? Object { get; set; }
        public List<RelationChange> Relations { get; } = [];
    }

    private sealed class CosmosUnit
    {
        public List<PendingWrite> Writes { get; } = [];
        /// <summary>Unique keys reserved by the unit that the committed objects did not hold: released unless kept.</summary>
        public List<(UniqueKey Key, string Holder)> Reserved { get; } = [];

        public PendingWrite? Find(string className, string objectId) =>
            Writes.FirstOrDefault(w => w.ClassName == className && w.ObjectId == objectId);
    }

    public async Task<T> TransactionAsync<T>(Func<CancellationToken, Task<T>> work, CancellationToken ct)
    {
        if (_unit.Value is not null) return await work(ct);
        for (var attempt = 1; ; attempt++)
        {
            var unit = new CosmosUnit();
            T result;
            bool committed;
            try
            {
                _unit.Value = unit;
                try { result = await work(ct); }
                finally { _unit.Value = null; }
                committed = await CommitAsync(unit, ct);
            }
            catch
            {
                await ReleaseAsync(unit.Reserved);
                throw;
            }
            if (committed) return result;
            // An object changed (or vanished) between the unit's read and its commit: run the unit again on the new state.
            await ReleaseAsync(unit.Reserved);
            if (attempt == MaxTransactionAttempts)
                throw new ParseException(ParseError.Timeout, "The objects of this transaction are being changed by other requests; try again.");
        }
    }

    /// <summary>Whole-class changes touch every partition: they cannot be part of a transactional batch.</summary>
    private void RefuseInUnit(string what)
    {
        if (_unit.Value is not null)
            throw new ParseException(ParseError.CommandUnavailable, $"{what} cannot be part of a transaction on Cosmos DB; send it without transaction: true.");
    }

    private async Task ReleaseAsync(IEnumerable<(UniqueKey Key, string Holder)> reserved)
    {
        foreach (var (key, holder) in reserved) await ReleaseAsync([key], holder);
    }

    private async Task InsertInUnitAsync(CosmosUnit unit, StoredObject obj, IReadOnlyList<RelationChange> relations, CancellationToken ct)
    {
        foreach (var key in UniqueKeys(obj.ClassName, obj.Data))
        {
            await ReserveAsync(key, obj.ObjectId, ct);
            unit.Reserved.Add((key, obj.ObjectId));
        }
        var write = new PendingWrite { ClassName = obj.ClassName, ObjectId = obj.ObjectId, OwnerId = obj.OwnerId, Kind = PendingKind.Create, Object = obj };
        write.Relations.AddRange(relations);
        unit.Writes.Add(write);
    }

    private async Task<StoredObject?> UpdateInUnitAsync(CosmosUnit unit, string className, string objectId, QueryNode restriction,
        Func<StoredObject, ValueTask<ObjectWrite?>> mutate, CancellationToken ct)
    {
        var pending = unit.Find(className, objectId);
        StoredObject? current;
        if (pending is null) current = await ReadOneAsync(className, objectId, restriction, ct);
        else if (pending.Kind == PendingKind.Delete) return null;
        else current = await StillMatchesAsync(className, pending.Object!, restriction, ct) ? pending.Object : null;
        if (current is null) return null;
        var write = await mutate(current.Clone());
        if (write is null) return null;
        var next = write.Object;

        // Keys the new state takes beyond the current one are reserved now, so a clash is this request's 137/202.
        var before = UniqueKeys(className, current.Data);
        var committed = UniqueKeys(className, (pending is null ? current : pending.Original)?.Data ?? []);
        foreach (var key in UniqueKeys(className, next.Data).Where(k => before.All(b => b.Id != k.Id)))
        {
            await ReserveAsync(key, objectId, ct);
            if (committed.All(c => c.Id != key.Id)) unit.Reserved.Add((key, objectId));
        }

        if (pending is null)
        {
            pending = new PendingWrite { ClassName = className, ObjectId = objectId, OwnerId = current.OwnerId, Kind = PendingKind.Replace, Original = current };
            unit.Writes.Add(pending);
        }
        pending.Object = next;
        pending.Relations.AddRange(write.Relations);
        return next;
    }

    private async Task<StoredObject?> DeleteInUnitAsync(CosmosUnit unit, string className, string objectId, QueryNode restriction, CancellationToken ct)
    {
        var pending = unit.Find(className, objectId);
        if (pending is null)
        {
            var found = await ReadOneAsync(className, objectId, restriction, ct);
            if (found is null) return null;
            unit.Writes.Add(new PendingWrite { ClassName = className, ObjectId = objectId, OwnerId = found.OwnerId, Kind = PendingKind.Delete, Original = found });
            return found;
        }
        if (pending.Kind == PendingKind.Delete) return null;
        var current = pending.Object!;
        if (!await StillMatchesAsync(className, current, restriction, ct)) return null;
        if (pending.Kind == PendingKind.Create) unit.Writes.Remove(pending); // created and deleted in the unit: nothing to write
        else
        {
            pending.Kind = PendingKind.Delete;
            pending.Object = null;
            pending.Relations.Clear();
        }
        return current;
    }

    /// <summary>Whether an object the unit already wrote still passes a restriction: in memory, or by the store for sub-queries.</summary>
    private async Task<bool> StillMatchesAsync(string className, StoredObject state, QueryNode restriction, CancellationToken ct) =>
        QueryMatcher.NeedsStore(restriction)
            ? await ReadOneAsync(className, state.ObjectId, restriction, ct) is not null
            : QueryMatcher.Matches(restriction, state);

    /// <summary>Commits the unit's writes as one transactional batch; false when it lost a race (run the unit again).</summary>
    private async Task<bool> CommitAsync(CosmosUnit unit, CancellationToken ct)
    {
        var writes = unit.Writes;
        if (writes.Count == 0) return true;
        var partitions = writes.Select(w => (w.ClassName, w.OwnerId)).Distinct().ToList();
        if (partitions.Count > 1)
            throw new ParseException(ParseError.CommandUnavailable,
                $"This transaction writes {partitions.Count} partitions ({string.Join(", ", partitions.Take(3).Select(p => $"{p.ClassName} of owner {p.OwnerId}"))}"
                + $"{(partitions.Count > 3 ? ", …" : "")}); on Cosmos DB a transaction may only write objects of one class and one owner. "
                + "Nothing was written: send such requests without transaction: true, or one transaction per class and owner.");
        if (writes.Count > MaxTransactionOperations)
            throw new ParseException(ParseError.CommandUnavailable,
                $"A transaction on Cosmos DB may write at most {MaxTransactionOperations} objects; this one writes {writes.Count}. Nothing was written.");

        var (className, owner) = partitions[0];
        var batch = Class(className).CreateTransactionalBatch(new PartitionKey(owner));
        foreach (var write in writes)
        {
            switch (write.Kind)
            {
                case PendingKind.Create:
                    batch.CreateItemStream(ToStream(ToItem(write.Object!)));
                    break;
                case PendingKind.Replace:
                    var item = ToItem(write.Object!);
                    item["ownerId"] = write.OwnerId; // the partition never changes
                    batch.ReplaceItemStream(write.ObjectId, ToStream(item), new TransactionalBatchItemRequestOptions { IfMatchEtag = write.Original!.ETag });
                    break;
                case PendingKind.Delete:
                    batch.DeleteItem(write.ObjectId, new TransactionalBatchItemRequestOptions { IfMatchEtag = write.Original!.ETag });
                    break;
            }
        }
        RequestBudget.Current?.ChargeStatement();
        using (var response = await batch.ExecuteAsync(ct))
        {
            if (!response.IsSuccessStatusCode)
            {
                // The operation that failed is the one not answered 424 (failed dependency).
                var status = response.StatusCode;
                for (var i = 0; i < response.Count; i++)
                    if (response[i].StatusCode != HttpStatusCode.FailedDependency) { status = response[i].StatusCode; break; }
                if (status is HttpStatusCode.PreconditionFailed or HttpStatusCode.NotFound or HttpStatusCode.Conflict) return false;
                throw Failure(status, response.ErrorMessage);
            }
            for (var i = 0; i < writes.Count && i < response.Count; i++)
                if (writes[i].Object is { } written) written.ETag = response[i].ETag;
        }

        // Committed: free the keys the objects no longer hold, then write what lives in other containers.
        foreach (var write in writes)
        {
            var kept = write.Object is null ? [] : UniqueKeys(write.ClassName, write.Object.Data);
            var dropped = write.Original is null ? [] : UniqueKeys(write.ClassName, write.Original.Data).Where(k => kept.All(f => f.Id != k.Id)).ToList();
            await ReleaseAsync(dropped, write.ObjectId);
        }
        foreach (var (key, holder) in unit.Reserved)
        {
            var final = unit.Find(key.ClassName, holder)?.Object;
            if (final is null || UniqueKeys(key.ClassName, final.Data).All(k => k.Id != key.Id)) await ReleaseAsync([key], holder);
        }
        unit.Reserved.Clear();
        foreach (var write in writes)
        {
            if (write.Kind == PendingKind.Delete)
                await DeleteWhereAsync(Db.GetContainer(RelationsContainer), "r", "r[\"owner\"] = @c", RelationOwner(write.ClassName, write.ObjectId), "owner", ct);
            else
                await ApplyRelationsAsync(write.ClassName, write.ObjectId, write.Relations, ct);
        }
        return true;
    }
}
