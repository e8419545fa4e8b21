using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Store;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Core.Objects;

/// <summary>
/// Parse's <c>/aggregate</c>: a Mongo-style pipeline (<c>$match</c>, <c>$group</c>, <c>$sort</c>, <c>$skip</c>,
/// <c>$limit</c>, <c>$project</c>, <c>$count</c>) and <c>distinct</c>. A pipeline without <c>$group</c> is an ordinary
/// find (so it is served like one, indexes and all); with <c>$group</c> it becomes one <see cref="AggregateQuery"/>
/// the store runs. Field references use Parse's names or its storage names (<c>_id</c>, <c>_created_at</c>,
/// <c>_updated_at</c>, <c>_p_field</c>); each must name a field of the class, so nothing but a validated name ever
/// reaches a store's query text. Stage orders that would need a stage after <c>$group</c> to filter groups or a
/// stage before it to change its input are refused with 102 rather than answered differently from Mongo.
/// </summary>
internal sealed partial class Aggregation(DataService data, SchemaService schemas, IObjectStore store, IOptions<ParseSettings> options)
{
    /// <summary>The most groups one aggregate answers (and the most distinct values).</summary>
    public const int MaxGroups = 10_000;

    private readonly ParseSettings _settings = options.Value;

    [GeneratedRegex("^[A-Za-z0-9_]{1,128}$")]
    private static partial Regex SegmentPattern();

    private sealed class Plan
    {
        public List<JsonNode> Matches { get; } = [];
        public JsonObject? Group { get; set; }
        public List<(string Key, bool Descending)> Sort { get; } = [];
        public int Skip { get; set; }
        public int? Limit { get; set; }
        public JsonObject? Project { get; set; }
        public string? CountAs { get; set; }
    }

    public async Task<JsonArray> AggregateAsync(Auth auth, string className, JsonNode? pipeline, CancellationToken ct)
    {
        var schema = ClassSchema(className);
        var plan = Parse(Stages(pipeline));
        var where = await data.ParseWhereAsync(auth, schema, plan.Matches.Count switch
        {
            0 => null,
            1 => plan.Matches[0],
            _ => new JsonObject { ["$and"] = new JsonArray([.. plan.Matches]) },
        }, ct);
        return plan.Group is null ? await RowsAsync(auth, schema, where, plan, ct) : await GroupsAsync(schema, where, plan, ct);
    }

    public async Task<JsonArray> DistinctAsync(Auth auth, string className, string field, JsonNode? where, CancellationToken ct)
    {
        var schema = ClassSchema(className);
        var key = Field(schema, field.StartsWith('$') ? field : "$" + field);
        var rows = await store.AggregateAsync(new AggregateQuery(className, await data.ParseWhereAsync(auth, schema, where, ct), [new GroupKeyPart(key)], [], [], 0, MaxGroups + 1), ct);
        if (rows.Count > MaxGroups) throw new ParseException(ParseError.InvalidQuery, $"distinct {key.Dotted} has more than {MaxGroups} values.");
        var values = new JsonArray();
        foreach (var row in rows)
            if (row.Key[0] is { } value) values.Add(Output(key, value, pointerAsObject: true));
        return values;
    }

    private ClassSchema ClassSchema(string className)
    {
        Names.EnsureValidClass(className);
        return schemas.Get(className) ?? throw new ParseException(ParseError.InvalidClassName, $"Class {className} does not exist.");
    }

    // ---- the pipeline ----------------------------------------------------------------------------------

    private static IEnumerable<(string Name, JsonNode? Value)> Stages(JsonNode? pipeline)
    {
        var stages = pipeline switch
        {
            JsonArray list => list.Select(Stage).ToList(),
            JsonObject map => map.Select(p => (p.Key, p.Value)).ToList(),
            null => [],
            _ => throw new ParseException(ParseError.InvalidQuery, "pipeline must be an array of stages."),
        };
        foreach (var (name, _) in stages)
            if (!name.StartsWith('$')) throw new ParseException(ParseError.InvalidQuery, $"Invalid aggregate stage '{Names.Truncate(name)}'.");
        return stages;
    }

    private static (string, JsonNode?) Stage(JsonNode? stage) => stage is JsonObject { Count: 1 } o
        ? (o.First().Key, o.First().Value)
        : throw new ParseException(ParseError.InvalidQuery, "Each aggregate stage is an object with exactly one key.");

    private static Plan Parse(IEnumerable<(string Name, JsonNode? Value)> stages)
    {
        var plan = new Plan();
        var shaped = false; // a $sort, $skip, $limit or $project ran: a later $group or $match would see its output
        foreach (var (name, value) in stages)
        {
            if (plan.CountAs is not null) throw Unsupported($"{name} after $count");
            switch (name)
            {
                case "$match":
                    if (plan.Group is not null || shaped) throw Unsupported("$match after $group, $sort, $skip, $limit or $project");
                    plan.Matches.Add(RenameStorageKeys(value as JsonObject ?? throw new ParseException(ParseError.InvalidQuery, "$match must be an object.")));
                    break;
                case "$group":
                    if (plan.Group is not null || shaped) throw Unsupported("$group after $group, $sort, $skip, $limit or $project");
                    plan.Group = value as JsonObject ?? throw new ParseException(ParseError.InvalidQuery, "$group must be an object.");
                    break;
                case "$sort":
                    if (plan.Skip > 0 || plan.Limit is not null || plan.Project is not null) throw Unsupported("$sort after $skip, $limit or $project");
                    if (value is not JsonObject { Count: > 0 } sort) throw new ParseException(ParseError.InvalidQuery, "$sort must name at least one field.");
                    plan.Sort.Clear();
                    foreach (var (key, direction) in sort)
                    {
                        var dir = direction is JsonValue d && d.TryGetValue(out double n) ? n : 0;
                        if (dir is not (1 or -1)) throw new ParseException(ParseError.InvalidQuery, $"$sort direction of {Names.Truncate(key)} must be 1 or -1.");
                        plan.Sort.Add((key, dir < 0));
                    }
                    shaped = true;
                    break;
                case "$skip":
                    var skip = Count(value, name);
                    plan.Skip += skip;
                    if (plan.Limit is { } limited) plan.Limit = Math.Max(0, limited - skip);
                    shaped = true;
                    break;
                case "$limit":
                    var limit = Count(value, name);
                    plan.Limit = plan.Limit is { } current ? Math.Min(current, limit) : limit;
                    shaped = true;
                    break;
                case "$project":
                    if (plan.Project is not null) throw Unsupported("a second $project");
                    plan.Project = value as JsonObject is { Count: > 0 } project ? project : throw new ParseException(ParseError.InvalidQuery, "$project must name fields.");
                    shaped = true;
                    break;
                case "$count":
                    plan.CountAs = value is JsonValue c && c.TryGetValue(out string? label) && Names.IsValidField(label)
                        ? label : throw new ParseException(ParseError.InvalidQuery, "$count must name its output field.");
                    break;
                default:
                    throw new ParseException(ParseError.InvalidQuery, $"Invalid aggregate stage '{Names.Truncate(name)}'.");
            }
        }
        return plan;
    }

    private static int Count(JsonNode? value, string stage) =>
        value is JsonValue v && v.TryGetValue(out double n) && n >= 0 && n <= int.MaxValue && n == Math.Floor(n)
            ? (int)n : throw new ParseException(ParseError.InvalidQuery, $"{stage} must be a non-negative integer.");

    private static ParseException Unsupported(string what) =>
        new(ParseError.InvalidQuery, $"Unsupported aggregate pipeline: {what}. Supported: $match stages, then at most one $group, then $sort, $skip, $limit, $project and $count.");

    /// <summary>Storage names in a $match (<c>_id</c>, <c>_created_at</c>, <c>_p_field: "Class$id"</c>) as Parse names and values.</summary>
    private static JsonObject RenameStorageKeys(JsonObject match)
    {
        var renamed = new JsonObject();
        foreach (var (key, value) in match)
        {
            var copy = value?.DeepClone();
            if (key is "$or" or "$and" or "$nor" && copy is JsonArray branches)
            {
                renamed[key] = new JsonArray([.. branches.Select(b => b is JsonObject o ? RenameStorageKeys(o) : b?.DeepClone())]);
                continue;
            }
            if (key.StartsWith("_p_", StringComparison.Ordinal))
            {
                renamed[key[3..]] = StoragePointers(copy);
                continue;
            }
            renamed[StorageName(key)] = copy;
        }
        return renamed;
    }

    /// <summary>"Class$id" (how Parse stores pointers) as pointer JSON, in a value or inside its operators.</summary>
    private static JsonNode? StoragePointers(JsonNode? value) => value switch
    {
        JsonValue v when v.TryGetValue(out string? text) && text.IndexOf('$') is > 0 and var at =>
            new JsonObject { ["__type"] = "Pointer", ["className"] = text[..at], ["objectId"] = text[(at + 1)..] },
        JsonArray list => new JsonArray([.. list.Select(StoragePointers)]),
        JsonObject o when o.Any(p => p.Key.StartsWith('$')) => new JsonObject(o.Select(p => KeyValuePair.Create(p.Key, StoragePointers(p.Value?.DeepClone())))),
        _ => value,
    };

    private static string StorageName(string name) => name switch
    {
        "_id" => "objectId",
        "_created_at" => "createdAt",
        "_updated_at" => "updatedAt",
        _ when name.StartsWith("_p_", StringComparison.Ordinal) => name[3..],
        _ => name,
    };

    /// <summary>A "$field" reference resolved against the schema; anything else is a 102 naming it.</summary>
    private static FieldRef Field(ClassSchema schema, JsonNode? reference) =>
        reference is JsonValue v && v.TryGetValue(out string? text) ? Field(schema, text)
            : throw new ParseException(ParseError.InvalidQuery, "Aggregate field references are strings like \"$amount\".");

    private static FieldRef Field(ClassSchema schema, string reference)
    {
        if (!reference.StartsWith('$') || reference.Length < 2) throw new ParseException(ParseError.InvalidQuery, $"Invalid field reference: {Names.Truncate(reference)} (write \"$field\").");
        var parts = reference[1..].Split('.');
        var name = StorageName(parts[0]);
        if (parts.Any(p => !SegmentPattern().IsMatch(p)) || (!Names.IsValidField(name) && !Names.DefaultFields.Contains(name)) || name == "ACL")
            throw new ParseException(ParseError.InvalidQuery, $"Invalid field name: {Names.Truncate(reference)}.");
        var definition = schema.Field(name);
        if (definition is null && !Names.DefaultFields.Contains(name))
            throw new ParseException(ParseError.InvalidQuery, $"Field {Names.Truncate(name)} does not exist on {schema.ClassName}.");
        if (parts.Length > 1 && definition?.Type != FieldType.Object)
            throw new ParseException(ParseError.InvalidQuery, $"Only Object fields have sub-fields: {Names.Truncate(reference)}.");
        if (definition?.Type == FieldType.Relation) throw new ParseException(ParseError.InvalidQuery, $"Cannot aggregate on relation {name}.");
        return new FieldRef(name, parts[1..], definition);
    }

    // ---- without $group: an ordinary find -------------------------------------------------------------------

    private async Task<JsonArray> RowsAsync(Auth auth, ClassSchema schema, QueryNode where, Plan plan, CancellationToken ct)
    {
        if (plan.CountAs is { } countAs)
        {
            var total = await store.CountAsync(schema.ClassName, where, ct);
            var counted = Math.Max(0, total - plan.Skip);
            if (plan.Limit is { } cap) counted = Math.Min(counted, cap);
            // Mongo's $count answers nothing at all when nothing is counted.
            return counted == 0 ? [] : [new JsonObject { [countAs] = counted }];
        }
        var order = plan.Sort.Select(s => new SortKey(Field(schema, "$" + s.Key), s.Descending)).ToList();
        var limit = Math.Min(plan.Limit ?? _settings.Limits.MaxLimit, _settings.Limits.MaxLimit);
        if (limit == 0) return [];
        var stored = await store.FindAsync(new StoreQuery(schema.ClassName, where, order, plan.Skip, limit), ct);
        var results = new JsonArray();
        foreach (var obj in stored)
        {
            var json = data.Encode(auth, schema, obj, []);
            if (plan.Project is { } project) json = Project(json, project, schema);
            results.Add(json);
        }
        return results;
    }

    /// <summary>$project on an object: inclusion keeps objectId and the named fields, exclusion drops the named ones.</summary>
    private static JsonObject Project(JsonObject json, JsonObject project, ClassSchema? schema)
    {
        var include = new HashSet<string>(StringComparer.Ordinal);
        var exclude = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, value) in project)
        {
            var on = value is JsonValue v && (v.TryGetValue(out bool b) ? b : v.TryGetValue(out double n) && n != 0);
            var name = StorageName(key);
            if (schema is not null) Field(schema, "$" + name);
            (on ? include : exclude).Add(name);
        }
        if (include.Count > 0 && exclude.Any(e => e != "objectId"))
            throw new ParseException(ParseError.InvalidQuery, "$project cannot both include and exclude fields.");
        var result = new JsonObject();
        foreach (var (key, value) in json)
        {
            var keep = include.Count > 0 ? include.Contains(key) || (key == "objectId" && !exclude.Contains("objectId")) : !exclude.Contains(key);
            if (keep) result[key] = value?.DeepClone();
        }
        return result;
    }

    // ---- with $group: the store's aggregate -----------------------------------------------------------------

    private async Task<JsonArray> GroupsAsync(ClassSchema schema, QueryNode where, Plan plan, CancellationToken ct)
    {
        var group = plan.Group!;
        if (!group.ContainsKey("_id")) throw new ParseException(ParseError.InvalidQuery, "Invalid parameter for query: group. Missing key _id");
        if (group.ContainsKey("objectId")) throw new ParseException(ParseError.InvalidQuery, "Cannot use 'objectId' as a $group output; use '_id'.");

        var (keyParts, keyNames) = GroupKey(schema, group["_id"]);
        var accumulators = new List<Accumulator>();
        var outputs = new List<string>();
        var constants = new List<double?>();
        foreach (var (output, spec) in group)
        {
            if (output == "_id") continue;
            if (!Names.IsValidField(output)) throw new ParseException(ParseError.InvalidQuery, $"Invalid $group output name: {Names.Truncate(output)}.");
            if (spec is not JsonObject { Count: 1 } op) throw new ParseException(ParseError.InvalidQuery, $"$group output {output} must be one accumulator, e.g. {{\"$sum\": \"$amount\"}}.");
            var (name, argument) = (op.First().Key, op.First().Value);
            double? constant = null;
            var accumulator = name switch
            {
                "$count" => new Accumulator(AggregateOp.Count, null),
                // {$sum: 1} counts; {$sum: n} is n per object.
                "$sum" when argument is JsonValue c && c.TryGetValue(out double n) => Constant(n, out constant),
                "$sum" => new Accumulator(AggregateOp.Sum, Field(schema, argument)),
                "$avg" => new Accumulator(AggregateOp.Avg, Field(schema, argument)),
                "$min" => new Accumulator(AggregateOp.Min, Field(schema, argument)),
                "$max" => new Accumulator(AggregateOp.Max, Field(schema, argument)),
                _ => throw new ParseException(ParseError.InvalidQuery, $"Unsupported $group accumulator {Names.Truncate(name)}: use $sum, $avg, $min, $max or $count."),
            };
            accumulators.Add(accumulator);
            outputs.Add(output);
            constants.Add(constant);
        }
        // Every query also counts its objects: a group-by-nothing over no objects answers no row, as Mongo does.
        accumulators.Add(new Accumulator(AggregateOp.Count, null));

        var order = new List<GroupOrder>();
        foreach (var (key, descending) in plan.Sort)
        {
            var name = key == "objectId" ? "_id" : key.StartsWith("objectId.", StringComparison.Ordinal) ? "_id" + key[8..] : key;
            if (name == "_id" && keyNames is null && keyParts.Count == 1) order.Add(new GroupOrder(0, null, descending));
            else if (name.StartsWith("_id.", StringComparison.Ordinal) && keyNames?.IndexOf(name[4..]) is >= 0 and var part) order.Add(new GroupOrder(part, null, descending));
            else if (outputs.IndexOf(name) is >= 0 and var index) order.Add(new GroupOrder(null, index, descending));
            else throw new ParseException(ParseError.InvalidQuery, $"$sort after $group must name _id or a $group output: {Names.Truncate(key)}.");
        }

        var limit = Math.Min(plan.Limit ?? MaxGroups, MaxGroups);
        if (limit == 0) return [];
        var rows = await store.AggregateAsync(new AggregateQuery(schema.ClassName, where, keyParts, accumulators, order, plan.Skip, plan.Limit is null ? MaxGroups + 1 : limit), ct);
        if (rows.Count > MaxGroups) throw new ParseException(ParseError.InvalidQuery, $"The aggregate makes more than {MaxGroups} groups; add $limit or narrow it with $match.");

        var results = new JsonArray();
        foreach (var row in rows)
        {
            if (keyParts.Count == 0 && Numeric(row.Values[^1]) == 0) continue;
            var json = new JsonObject { ["objectId"] = GroupId(keyParts, keyNames, row.Key) };
            for (var i = 0; i < outputs.Count; i++)
                json[outputs[i]] = AccumulatorOutput(accumulators[i], constants[i], row.Values[i], row.Values[^1]);
            results.Add(plan.Project is { } project ? Project(json, project, null) : json);
        }
        if (plan.CountAs is { } countAs) return results.Count == 0 ? [] : [new JsonObject { [countAs] = results.Count }];
        return results;
    }

    private static Accumulator Constant(double n, out double? constant)
    {
        constant = n;
        return new Accumulator(AggregateOp.Count, null);
    }

    private static readonly Dictionary<string, DatePart> DateParts = new(StringComparer.Ordinal)
    {
        ["$year"] = DatePart.Year, ["$month"] = DatePart.Month, ["$dayOfMonth"] = DatePart.DayOfMonth,
        ["$hour"] = DatePart.Hour, ["$minute"] = DatePart.Minute, ["$second"] = DatePart.Second,
    };

    /// <summary>The group key: null (one group), "$field", {"$year": "$field"}, or an object of named parts.</summary>
    private static (List<GroupKeyPart> Parts, List<string>? Names) GroupKey(ClassSchema schema, JsonNode? id)
    {
        switch (id)
        {
            case null:
                return ([], null);
            case JsonValue v when v.TryGetValue(out string? _):
                return ([new GroupKeyPart(Field(schema, id))], null);
            case JsonObject { Count: 1 } o when o.First().Key.StartsWith('$'):
                return ([KeyPart(schema, id)], null);
            case JsonObject { Count: > 0 and <= 8 } o:
                var parts = new List<GroupKeyPart>();
                var names = new List<string>();
                foreach (var (name, value) in o)
                {
                    if (!Names.IsValidField(name)) throw new ParseException(ParseError.InvalidQuery, $"Invalid $group _id part name: {Names.Truncate(name)}.");
                    parts.Add(KeyPart(schema, value));
                    names.Add(name);
                }
                return (parts, names);
            default:
                if (id is JsonValue) return ([], null); // a constant _id: one group, as Mongo
                throw new ParseException(ParseError.InvalidQuery, "$group _id must be null, \"$field\", a date part like {\"$year\": \"$createdAt\"}, or an object of up to 8 of these.");
        }
    }

    private static GroupKeyPart KeyPart(ClassSchema schema, JsonNode? value)
    {
        if (value is JsonObject { Count: 1 } o && o.First().Key.StartsWith('$'))
        {
            var (op, argument) = (o.First().Key, o.First().Value);
            if (!DateParts.TryGetValue(op, out var part))
                throw new ParseException(ParseError.InvalidQuery, $"Unsupported $group _id operator {Names.Truncate(op)}: use $year, $month, $dayOfMonth, $hour, $minute or $second.");
            var field = Field(schema, argument);
            if (!field.IsCreatedAt && !field.IsUpdatedAt && field.Definition?.Type != FieldType.Date)
                throw new ParseException(ParseError.InvalidQuery, $"{op} needs a Date field; {field.Dotted} is not one.");
            return new GroupKeyPart(field, part);
        }
        return new GroupKeyPart(Field(schema, value));
    }

    private static JsonNode? GroupId(List<GroupKeyPart> parts, List<string>? names, IReadOnlyList<JsonNode?> key)
    {
        if (parts.Count == 0) return null;
        if (names is null) return key[0] is { } only ? Output(parts[0].Field, only, pointerAsObject: false, parts[0].Part) : null;
        var id = new JsonObject();
        for (var i = 0; i < parts.Count; i++) id[names[i]] = key[i] is { } value ? Output(parts[i].Field, value, pointerAsObject: false, parts[i].Part) : null;
        return id;
    }

    private static JsonNode? AccumulatorOutput(Accumulator accumulator, double? constant, JsonNode? value, JsonNode? count)
    {
        if (constant is { } n) return Number(n * Numeric(count));
        return accumulator.Op switch
        {
            AggregateOp.Count => count?.DeepClone(),
            AggregateOp.Sum or AggregateOp.Avg => value is null ? null : Number(Numeric(value)),
            _ => value is null ? null : Output(accumulator.Field!, value, pointerAsObject: false),
        };
    }

    /// <summary>A number a store answered, whichever CLR type its JSON value holds.</summary>
    private static double Numeric(JsonNode? node) => node is JsonValue v
        ? v.TryGetValue(out long l) ? l : v.TryGetValue(out double d) ? d : v.TryGetValue(out int i) ? i : v.GetValue<JsonElement>().GetDouble()
        : 0;

    /// <summary>Whole numbers as integers (a sum of integers reads 6, not 6.0), others as they are.</summary>
    private static JsonNode Number(double value) =>
        value == Math.Floor(value) && Math.Abs(value) < 9e15 ? JsonValue.Create((long)value) : JsonValue.Create(value);

    /// <summary>A stored key or extreme as Parse answers it: dates as Date JSON, pointers as ids (or Pointer JSON for distinct).</summary>
    private static JsonNode Output(FieldRef field, JsonNode value, bool pointerAsObject, DatePart? part = null)
    {
        if (part is not null) return value.DeepClone();
        var isDate = field.IsCreatedAt || field.IsUpdatedAt || (field.Path.Count == 0 && field.Definition?.Type == FieldType.Date);
        if (isDate && value is JsonValue d && d.TryGetValue(out string? iso)) return new JsonObject { ["__type"] = "Date", ["iso"] = iso };
        if (pointerAsObject && field.Path.Count == 0 && field.Definition is { Type: FieldType.Pointer, TargetClass: { } target } && value is JsonValue p && p.TryGetValue(out string? id))
            return new JsonObject { ["__type"] = "Pointer", ["className"] = target, ["objectId"] = id };
        return value.DeepClone();
    }
}
