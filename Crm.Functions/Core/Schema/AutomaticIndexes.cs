using System.Diagnostics;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Store;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Core.Schema;

/// <summary>
/// Indexes made for the query shapes that keep scanning a table, so that users' own classes — created at run time,
/// with no declared index — stay fast as they grow, as they do on a store that indexes every path (Cosmos DB).
/// A store that indexes only what it is asked to (<see cref="IReportsTableScans"/>: SQLite) reports each read that
/// stepped through a whole table; a shape — the fields a query tests for equality, then the fields it sorts by (or,
/// without a sort, the field it tests with <c>$in</c> and then the one it tests as a range) — that scanned at least
/// <see cref="AutomaticIndexSettings.MinScannedRows"/> rows <see cref="AutomaticIndexSettings.Repeats"/> times within
/// <see cref="AutomaticIndexSettings.WindowMinutes"/> gets an index on those fields, at most
/// <see cref="AutomaticIndexSettings.MaxPerClass"/> per class, one build at a time, off the request path. The index is
/// an ordinary schema index marked automatic: listed by <c>GET /schemas</c> (named <c>auto_…</c>), dropped by
/// <c>PUT /schemas</c> with <c>{"__op": "Delete"}</c> — and then not made again by this process — and logged when made.
/// </summary>
internal sealed class AutomaticIndexes(IObjectStore store, SchemaService schemas, IOptions<ParseSettings> options, ILogger<AutomaticIndexes> logger)
{
    private readonly AutomaticIndexSettings _settings = options.Value.AutomaticIndexes;
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Class, string Name), (int Count, long Since)> _seen = [];
    /// <summary>Indexes this process made: one of them missing from its schema was dropped by someone, and stays dropped.</summary>
    private readonly HashSet<(string Class, string Name)> _made = [];
    private int _building;

    /// <summary>The index builds under way or done (for tests and shutdown): the last one started.</summary>
    public Task LastBuild { get; private set; } = Task.CompletedTask;

    /// <summary>Starts listening to the store's scans, when the setting is on and the store reports them.</summary>
    public void Start()
    {
        if (_settings.Enabled && store is IReportsTableScans scans) scans.TableScanned += OnScanned;
    }

    private void OnScanned(TableScan scan)
    {
        if (scan.RowsScanned < _settings.MinScannedRows) return;
        if (schemas.Get(scan.ClassName) is not { } schema) return;
        if (KeysFor(scan.Where, scan.Order) is not { } keys) return;
        var name = NameFor(keys);
        if (schema.Indexes.ContainsKey(name) || schema.Indexes.Values.Count(i => i.Automatic) >= _settings.MaxPerClass) return;
        // An index already leading with the same fields serves the shape (SQLite found it no better than a scan).
        if (schema.Indexes.Values.Any(i => !i.Text && i.Keys.Count >= keys.Count && i.Keys.Take(keys.Count).Select(k => k.Field).SequenceEqual(keys.Select(k => k.Field))))
            return;
        var now = Stopwatch.GetTimestamp();
        lock (_lock)
        {
            if (_made.Contains((scan.ClassName, name))) return;
            var window = TimeSpan.FromMinutes(_settings.WindowMinutes);
            var (count, since) = _seen.GetValueOrDefault((scan.ClassName, name), (0, now));
            if (Stopwatch.GetElapsedTime(since, now) > window) (count, since) = (0, now);
            count++;
            if (count < _settings.Repeats || Interlocked.CompareExchange(ref _building, 1, 0) != 0)
            {
                _seen[(scan.ClassName, name)] = (count, since);
                if (_seen.Count > 1000) _seen.Clear(); // shapes are few; this bounds a flood of distinct ones
                return;
            }
            _seen.Remove((scan.ClassName, name));
            _made.Add((scan.ClassName, name));
        }
        LastBuild = Task.Run(() => BuildAsync(scan.ClassName, name, keys, scan.RowsScanned));
    }

    private async Task BuildAsync(string className, string name, IReadOnlyList<(string Field, int Direction)> keys, long rows)
    {
        try
        {
            var started = Stopwatch.GetTimestamp();
            var made = await schemas.AddAutomaticIndexAsync(className, name, new IndexDefinition(keys, Automatic: true), _settings.MaxPerClass, CancellationToken.None);
            if (made)
                logger.LogInformation("Made automatic index {Index} on {Class} ({Keys}) in {Ms:0} ms: queries of that shape scanned {Rows} rows {Repeats} times. Drop it with PUT /schemas/{Class}; Parse:AutomaticIndexes:Enabled=false turns this off",
                    name, className, string.Join(", ", keys.Select(k => $"{k.Field} {(k.Direction < 0 ? "desc" : "asc")}")), Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                    rows, _settings.Repeats, className);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A failed build changes nothing: the schema is saved only after the store built the index.
            logger.LogWarning(e, "Automatic index {Index} on {Class} could not be made", name, className);
        }
        finally
        {
            Volatile.Write(ref _building, 0);
        }
    }

    /// <summary>
    /// The index a shape needs, or null when nothing in it can use one: its equality fields (sorted by name, so the same
    /// shape always names the same index), then its sort keys; without a sort, its first <c>$in</c> field and first
    /// range field. Only top-level fields of types stored as comparable scalars count (not arrays, objects, relations);
    /// security restrictions (ACLs) are tested on the rows the index leads to.
    /// </summary>
    internal static IReadOnlyList<(string Field, int Direction)>? KeysFor(QueryNode where, IReadOnlyList<SortKey> order)
    {
        var terms = where is AndNode and ? and.Children : [where];
        var equal = new SortedSet<string>(StringComparer.Ordinal);
        string? inField = null, rangeField = null;
        foreach (var term in terms)
        {
            switch (term)
            {
                case CompareNode { Op: CompareOp.Eq, Value: StringValue or NumberValue or BoolValue or DateValue or PointerValue } c when Indexable(c.Field):
                    equal.Add(c.Field.Name);
                    break;
                case CompareNode { Op: CompareOp.Lt or CompareOp.Lte or CompareOp.Gt or CompareOp.Gte, Value: StringValue or NumberValue or DateValue } c when Indexable(c.Field):
                    rangeField ??= c.Field.Name;
                    break;
                case InNode { Negate: false } i when Indexable(i.Field) && i.Values.Count > 0 && i.Values.All(v => v is StringValue or NumberValue or DateValue or PointerValue):
                    inField ??= i.Field.Name;
                    break;
            }
        }
        var keys = equal.Select(f => (Field: f, Direction: 1)).ToList();
        if (order.Count > 0)
        {
            if (!order.All(k => Indexable(k.Field) || k.Field.IsObjectId)) return null;
            foreach (var key in order)
                if (!equal.Contains(key.Field.Name)) keys.Add((key.Field.Name, key.Descending ? -1 : 1));
        }
        else
        {
            if (inField is not null && !equal.Contains(inField)) keys.Add((inField, 1));
            if (rangeField is not null && !keys.Any(k => k.Field == rangeField)) keys.Add((rangeField, 1));
        }
        return keys.Count is > 0 and <= 4 && !(keys.Count == 1 && keys[0].Field == "objectId") ? keys : null;
    }

    private static bool Indexable(FieldRef field) =>
        field.Path.Count == 0 && !field.IsObjectId && !field.IsScore
        && (field.IsSystemColumn || field.Definition?.Type is FieldType.String or FieldType.Number or FieldType.Boolean or FieldType.Date or FieldType.Pointer);

    /// <summary>auto_ then the fields, a descending one followed by _desc (index names follow field-name rules).</summary>
    internal static string NameFor(IReadOnlyList<(string Field, int Direction)> keys)
    {
        var name = "auto_" + string.Join('_', keys.Select(k => k.Direction < 0 ? k.Field + "_desc" : k.Field));
        if (name.Length <= 128) return name;
        // Too long for a name: cut, with a stable hash (FNV-1a) of the whole so that two long shapes stay apart.
        var hash = 2166136261u;
        foreach (var c in name) hash = (hash ^ c) * 16777619u;
        return name[..118] + "_" + hash.ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
    }
}
