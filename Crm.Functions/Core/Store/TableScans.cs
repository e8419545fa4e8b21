using Crm.Functions.Core.Query;

namespace Crm.Functions.Core.Store;

/// <summary>A read that stepped through a whole table: the class, the query as the store ran it, and the rows it visited.</summary>
internal sealed record TableScan(string ClassName, QueryNode Where, IReadOnlyList<SortKey> Order, long RowsScanned);

/// <summary>
/// A store that indexes only what it is asked to (SQLite) reports the reads that had to scan a table, so that
/// <see cref="Schema.AutomaticIndexes"/> can index the query shapes that keep doing it. A store that indexes every path
/// by itself (Cosmos DB's default policy) has nothing to report and does not implement this.
/// </summary>
internal interface IReportsTableScans
{
    /// <summary>Raised on the reading thread after the read; handlers must be quick and must not throw.</summary>
    event Action<TableScan>? TableScanned;
}
