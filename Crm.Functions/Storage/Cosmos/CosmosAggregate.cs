using System.Globalization;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Store;

namespace Crm.Functions.Storage.Cosmos;

/// <summary>
/// An <see cref="AggregateQuery"/> on Cosmos: one query projects only the fields the groups and accumulators need
/// (<c>SELECT c["data"]["stage"] AS f0, … FROM c WHERE …</c>, values as parameters), and its pages are folded into
/// per-group totals as they stream by — memory grows with the number of groups (at most <see cref="MaxGroups"/>),
/// never with the number of objects. Cosmos's own <c>GROUP BY</c> is not used: it cannot be combined with
/// <c>ORDER BY</c>, <c>OFFSET</c> or date-part keys, and the local API server the tests run against has neither it
/// nor <c>DateTimePart</c>, so this fold is the one path both the tests and Azure run.
/// </summary>
internal sealed class CosmosAggregate
{
    public const int MaxGroups = 10_000;

    private readonly AggregateQuery _query;
    private readonly List<FieldRef> _fields = [];
    private readonly int[] _keyFields;
    private readonly int[] _accumulatorFields;
    private readonly Dictionary<string, Group> _groups = new(StringComparer.Ordinal);

    private sealed class Group(int accumulators)
    {
        public required JsonNode?[] Key { get; init; }
        public long Count;
        public readonly double[] Sum = new double[accumulators];
        public readonly long[] Numbers = new long[accumulators];
        public readonly JsonNode?[] Extreme = new JsonNode?[accumulators];
    }

    public CosmosAggregate(AggregateQuery query)
    {
        _query = query;
        _keyFields = [.. query.Key.Select(k => FieldIndex(k.Field))];
        _accumulatorFields = [.. query.Accumulators.Select(a => a.Field is null ? -1 : FieldIndex(a.Field))];
        // A query grouped by nothing answers one group even over no objects, as SQL does.
        if (query.Key.Count == 0) _groups[""] = new Group(query.Accumulators.Count) { Key = [] };
    }

    /// <summary>The SELECT list: one property per distinct field, or a constant when only objects are counted.</summary>
    public string Projection => _fields.Count == 0 ? "VALUE 1" : string.Join(", ", _fields.Select((f, i) => $"{Path(f)} AS f{i}"));

    public void Add(JsonNode? item)
    {
        var values = item as JsonObject;
        var key = new JsonNode?[_keyFields.Length];
        for (var i = 0; i < key.Length; i++)
        {
            var value = values?["f" + _keyFields[i]];
            key[i] = _query.Key[i].Part is { } part ? DatePartOf(value, part) : value?.DeepClone();
        }
        var text = string.Join('\u0001', key.Select(k => k?.ToJsonString() ?? "null"));
        if (!_groups.TryGetValue(text, out var group))
        {
            if (_groups.Count >= MaxGroups)
                throw new ParseException(ParseError.InvalidQuery, $"The aggregate makes more than {MaxGroups} groups; narrow it with $match.");
            _groups[text] = group = new Group(_query.Accumulators.Count) { Key = key };
        }
        group.Count++;
        for (var i = 0; i < _query.Accumulators.Count; i++)
        {
            var accumulator = _query.Accumulators[i];
            if (accumulator.Op == AggregateOp.Count) continue;
            var value = values?["f" + _accumulatorFields[i]];
            if (accumulator.Op is AggregateOp.Sum or AggregateOp.Avg)
            {
                if (value is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number)
                {
                    group.Sum[i] += v.GetValue<double>();
                    group.Numbers[i]++;
                }
            }
            else if (value is not null)
            {
                var current = group.Extreme[i];
                var compared = current is null ? 0 : CosmosObjectStore.SortComparer.Instance.Compare(value, current);
                if (current is null || (accumulator.Op == AggregateOp.Min ? compared < 0 : compared > 0)) group.Extreme[i] = value.DeepClone();
            }
        }
    }

    public IReadOnlyList<AggregateRow> Rows()
    {
        var rows = _groups.Values.Select(g => new AggregateRow(g.Key, [.. _query.Accumulators.Select((a, i) => Value(g, a, i))])).ToList();
        IOrderedEnumerable<AggregateRow>? sorted = null;
        foreach (var order in _query.Order)
        {
            Func<AggregateRow, JsonNode?> value = order.KeyIndex is { } k ? row => row.Key[k] : row => row.Values[order.AccumulatorIndex!.Value];
            var comparer = CosmosObjectStore.SortComparer.Instance;
            sorted = sorted is null
                ? (order.Descending ? rows.OrderByDescending(value, comparer) : rows.OrderBy(value, comparer))
                : (order.Descending ? sorted.ThenByDescending(value, comparer) : sorted.ThenBy(value, comparer));
        }
        return [.. (sorted ?? (IEnumerable<AggregateRow>)rows).Skip(_query.Skip).Take(_query.Limit)];
    }

    private static JsonNode? Value(Group group, Accumulator accumulator, int i) => accumulator.Op switch
    {
        AggregateOp.Count => JsonValue.Create((double)group.Count), // double: the sort comparer reads numbers as doubles
        AggregateOp.Sum => JsonValue.Create(group.Sum[i]),
        AggregateOp.Avg => group.Numbers[i] == 0 ? null : JsonValue.Create(group.Sum[i] / group.Numbers[i]),
        _ => group.Extreme[i]?.DeepClone(),
    };

    private int FieldIndex(FieldRef field)
    {
        var index = _fields.FindIndex(f => f.Name == field.Name && f.Path.SequenceEqual(field.Path));
        if (index >= 0) return index;
        _fields.Add(field);
        return _fields.Count - 1;
    }

    /// <summary>The stored value a field groups and compares by: a pointer's object id, a date's ISO text.</summary>
    private static string Path(FieldRef field)
    {
        if (field.IsObjectId) return CosmosQueryTranslator.Prop("c", "id");
        if (field.IsCreatedAt) return CosmosQueryTranslator.Prop("c", "createdAt");
        if (field.IsUpdatedAt) return CosmosQueryTranslator.Prop("c", "updatedAt");
        var segments = new List<string> { "data", field.Name };
        segments.AddRange(field.Path);
        if (field.Path.Count == 0 && field.Definition?.Type is FieldType.Date) segments.Add("iso");
        if (field.Path.Count == 0 && field.Definition?.Type is FieldType.Pointer) segments.Add("objectId");
        return CosmosQueryTranslator.Prop("c", segments);
    }

    private static JsonNode? DatePartOf(JsonNode? value, DatePart part)
    {
        if (value is not JsonValue v || !v.TryGetValue(out string? iso)
            || !DateTimeOffset.TryParse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var date))
            return null;
        // A double, as every number this fold makes: the sort comparer reads numbers as doubles.
        return JsonValue.Create((double)(part switch
        {
            DatePart.Year => date.Year,
            DatePart.Month => date.Month,
            DatePart.DayOfMonth => date.Day,
            DatePart.Hour => date.Hour,
            DatePart.Minute => date.Minute,
            _ => date.Second,
        }));
    }
}
