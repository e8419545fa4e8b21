using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;

namespace Crm.Functions.Core.Store;

internal sealed record StoreQuery(string ClassName, QueryNode Where, IReadOnlyList<SortKey> Order, int Skip, int Limit);

/// <summary>The result of a mutation callback: the new object state plus relation changes to apply with it.</summary>
internal sealed record ObjectWrite(StoredObject Object, IReadOnlyList<RelationChange> Relations);

/// <summary>A unique index rejected a write (e.g. a username or role name taken concurrently).</summary>
internal sealed class DuplicateKeyException(string indexName) : Exception($"Duplicate value for unique index {indexName}")
{
    public string IndexName { get; } = indexName;
}

/// <summary>
/// The storage seam. Stores are document stores: they keep <see cref="StoredObject"/>s, translate
/// <see cref="QueryNode"/> trees (security restrictions included) into their own query language, and
/// guarantee atomic read-modify-write for <see cref="UpdateAsync"/>. They know nothing of users,
/// permissions or the Parse wire format.
/// </summary>
internal interface IObjectStore : IAsyncDisposable
{
    string Kind { get; }

    /// <summary>
    /// Whether one unit (<see cref="TransactionAsync"/>) may write objects of several classes and owners (SQLite); Cosmos
    /// DB's units cover one partition of one container. Journaled writes (<c>JournaledWrites</c>) depend on it.
    /// </summary>
    bool UnitsSpanClasses { get; }

    Task InitializeAsync(CancellationToken ct);

    Task<IReadOnlyList<ClassSchema>> LoadSchemasAsync(CancellationToken ct);

    /// <summary>Persists a schema and makes storage ready for it (tables/containers, indexes).</summary>
    Task SaveSchemaAsync(ClassSchema schema, CancellationToken ct);

    /// <summary>Removes a class's schema, objects and relations.</summary>
    Task DropClassAsync(string className, CancellationToken ct);

    /// <summary>Removes one field's values from every object of the class (schema field deletion).</summary>
    Task DeleteFieldAsync(string className, string field, bool isRelation, CancellationToken ct);

    Task<IReadOnlyList<StoredObject>> FindAsync(StoreQuery query, CancellationToken ct);

    Task<long> CountAsync(string className, QueryNode where, CancellationToken ct);

    /// <summary>Groups the matching objects and accumulates per group, in the store (never by reading whole objects).</summary>
    Task<IReadOnlyList<AggregateRow>> AggregateAsync(AggregateQuery query, CancellationToken ct);

    /// <exception cref="DuplicateKeyException">a unique index rejects the object</exception>
    Task InsertAsync(StoredObject obj, IReadOnlyList<RelationChange> relations, CancellationToken ct);

    /// <summary>
    /// Atomically reads the object matching id and <paramref name="restriction"/>, passes it to
    /// <paramref name="mutate"/> and writes the result. Returns null when no object matched (or when
    /// mutate returned null). Concurrent updates of the same object never lose a write.
    /// </summary>
    Task<StoredObject?> UpdateAsync(string className, string objectId, QueryNode restriction,
        Func<StoredObject, ValueTask<ObjectWrite?>> mutate, CancellationToken ct);

    /// <summary>Deletes the object matching id and restriction; returns it, or null when none matched.</summary>
    Task<StoredObject?> DeleteAsync(string className, string objectId, QueryNode restriction, CancellationToken ct);

    /// <summary>Ids of the objects in relation <paramref name="field"/> of the owning object.</summary>
    Task<IReadOnlyList<string>> RelatedIdsAsync(string ownerClass, string ownerId, string field, CancellationToken ct);

    Task PurgeAsync(string className, CancellationToken ct);

    /// <summary>
    /// Runs <paramref name="work"/> as one all-or-nothing unit (a transactional <c>/batch</c>): the writes it makes
    /// through this store, on its own async flow, are committed together when it returns and none of them when it
    /// throws; its reads see its own writes. A store that cannot commit a unit as a whole refuses it with a
    /// <see cref="ParseException"/> and writes nothing. A store may run <paramref name="work"/> again when the commit
    /// lost a race with another writer, so work must have no effect outside the store. A unit inside a unit joins it.
    /// </summary>
    Task<T> TransactionAsync<T>(Func<CancellationToken, Task<T>> work, CancellationToken ct);
}
