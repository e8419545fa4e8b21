using Crm.Functions.Core.Json;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Store;

namespace Crm.Functions.Core;

/// <summary>
/// Settles the records of journaled writes left held by a process that stopped between writing them and releasing them
/// (stores whose units cannot span classes, see <see cref="JournaledWrites"/>): a record whose change is on the object
/// (the object carries the change id; for a delete, the object is gone) is released, any other is dropped — its write
/// never committed, or lost a race and was run again under a new id.
/// </summary>
internal sealed class JournalRecovery(IObjectStore store, TimeProvider time)
{
    /// <summary>Settles the records of <paramref name="recordClass"/> held for longer than <paramref name="grace"/>; returns how many.</summary>
    public async Task<int> SettleAsync(string recordClass, TimeSpan grace, CancellationToken ct)
    {
        var before = ParseDates.Format(time.GetUtcNow() - grace);
        var where = QueryNode.And(
            new CompareNode(FieldRef.Of(JournaledWrites.StatusField, Text), CompareOp.Eq, new StringValue(JournaledWrites.Held)),
            new CompareNode(FieldRef.Of(JournaledWrites.ChangedAtField, Text), CompareOp.Lt, new StringValue(before)));
        var held = await store.FindAsync(new StoreQuery(recordClass, where, [], 0, 500), ct);
        foreach (var record in held)
        {
            var targetClass = JournaledWrites.Text(record, JournaledWrites.TargetClassField);
            var targetId = JournaledWrites.Text(record, JournaledWrites.TargetIdField);
            var change = JournaledWrites.Text(record, JournaledWrites.ChangeField);
            var kind = JournaledWrites.Text(record, JournaledWrites.KindField);
            if (targetClass is null || targetId is null || change is null) continue;
            var found = await store.FindAsync(new StoreQuery(targetClass,
                new CompareNode(FieldRef.Of("objectId"), CompareOp.Eq, new StringValue(targetId)), [], 0, 1), ct);
            var committed = kind == JournalChange.Delete ? found.Count == 0 : found.Count == 1 && JournaledWrites.Carries(found[0], change);
            if (committed)
                await store.UpdateAsync(recordClass, record.ObjectId, QueryNode.True,
                    r => ValueTask.FromResult(JournaledWrites.Released(r) is { } released ? new ObjectWrite(released, []) : null), ct);
            else
                await store.DeleteAsync(recordClass, record.ObjectId, QueryNode.True, ct);
        }
        return held.Count;
    }

    private static readonly FieldDefinition Text = new(FieldType.String);
}
