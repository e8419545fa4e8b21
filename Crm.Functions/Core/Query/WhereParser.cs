using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Schema;

namespace Crm.Functions.Core.Query;

/// <summary>What the parser needs from its caller: schemas of sub-query classes and their read restrictions.</summary>
internal interface IQueryScope
{
    bool IsMaster { get; }

    /// <summary>The schema of a class named in a sub-query, or null when it does not exist.</summary>
    ClassSchema? Schema(string className);

    /// <summary>The caller's read restriction for a sub-query (ACL, CLP find, pointer permissions); throws when denied.</summary>
    QueryNode SubqueryRestriction(ClassSchema schema);

    /// <summary>Throws when the field is protected from the caller (querying it would reveal it).</summary>
    void EnsureQueryable(ClassSchema schema, string field);
}

/// <summary>
/// Turns Parse's <c>where</c> JSON into a <see cref="QueryNode"/> tree. Every malformed part is a Parse error
/// (102/105/107), never an exception from deeper down; sizes and depth are bounded by <see cref="LimitSettings"/>.
/// </summary>
internal sealed partial class WhereParser(LimitSettings limits)
{
    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")]
    private static partial Regex KeyPattern();

    public QueryNode Parse(JsonNode? where, ClassSchema schema, IQueryScope scope)
    {
        var node = ParseObject(where, schema, scope, 0);
        // Each list is bounded on its own (MaxInValues), but $or/$and multiply them: 100 branches of 10,000 values
        // made one statement of a million terms (seconds of CPU, or more bound values than SQLite allows).
        if (QueryCost.Values(node) is var values && values > limits.MaxQueryValues)
            throw new ParseException(ParseError.InvalidQuery, $"The query holds {values} values in all; at most {limits.MaxQueryValues} are allowed (Parse:Limits:MaxQueryValues).");
        return node;
    }

    public static FieldRef ResolveField(string key, ClassSchema schema)
    {
        var parts = key.Split('.');
        return new FieldRef(parts[0], parts[1..], schema.Field(parts[0]));
    }

    private QueryNode ParseObject(JsonNode? where, ClassSchema schema, IQueryScope scope, int depth)
    {
        if (where is null) return QueryNode.True;
        if (where is not JsonObject obj) throw new ParseException(ParseError.InvalidJson, "where must be a JSON object");
        if (depth > limits.MaxQueryDepth)
            throw new ParseException(ParseError.InvalidQuery, $"Query is nested deeper than {limits.MaxQueryDepth} levels.");

        var nodes = new List<QueryNode>();
        foreach (var (key, value) in obj)
        {
            switch (key)
            {
                case "$or" or "$and" or "$nor":
                    nodes.Add(ParseLogical(key, value, schema, scope, depth));
                    break;
                case "$relatedTo":
                    nodes.Add(ParseRelatedTo(value, scope));
                    break;
                case "ACL":
                    throw new ParseException(ParseError.InvalidQuery, "Cannot query on ACL.");
                default:
                    if (!KeyPattern().IsMatch(key) || key.Length > 256)
                        throw new ParseException(ParseError.InvalidKeyName, $"Invalid key name: {Names.Truncate(key)}");
                    var field = ResolveField(key, schema);
                    if (!scope.IsMaster) scope.EnsureQueryable(schema, field.Name);
                    nodes.Add(ParseConstraint(field, value, schema, scope, depth));
                    break;
            }
        }
        return QueryNode.And(nodes);
    }

    private QueryNode ParseLogical(string op, JsonNode? value, ClassSchema schema, IQueryScope scope, int depth)
    {
        if (value is not JsonArray array || (op == "$nor" && array.Count == 0))
            throw new ParseException(ParseError.InvalidQuery, $"Bad {op} format - use an array value.");
        if (array.Count > limits.MaxOrBranches)
            throw new ParseException(ParseError.InvalidQuery, $"{op} has {array.Count} branches; at most {limits.MaxOrBranches} are allowed.");
        var children = array.Select(item => ParseObject(item ?? new JsonObject(), schema, scope, depth + 1)).ToList();
        return op switch
        {
            "$or" => QueryNode.Or(children),
            "$and" => QueryNode.And(children),
            _ => new NotNode(QueryNode.Or(children)),
        };
    }

    private static QueryNode ParseRelatedTo(JsonNode? value, IQueryScope scope)
    {
        if (value is not JsonObject rel || rel["key"] is not JsonValue keyValue || !keyValue.TryGetValue(out string? key)
            || !TryPointer(rel["object"], out var owner) || !Names.IsValidField(key) || !Names.IsValidClass(owner.ClassName))
            throw new ParseException(ParseError.InvalidJson, "bad $relatedTo value");
        if (scope.IsMaster) return new RelatedToNode(owner.ClassName, owner.ObjectId, key);
        // Listing a relation reveals part of the owning object: the caller must be able to read the owner.
        var (ownerSchema, restriction) = SubquerySchema(owner.ClassName, scope);
        if (ownerSchema is null) return QueryNode.False;
        var ownerWhere = QueryNode.And(new CompareNode(FieldRef.Of("objectId"), CompareOp.Eq, new StringValue(owner.ObjectId)), restriction);
        return new RelatedToNode(owner.ClassName, owner.ObjectId, key, ownerWhere);
    }

    private QueryNode ParseConstraint(FieldRef field, JsonNode? value, ClassSchema schema, IQueryScope scope, int depth)
    {
        if (value is JsonObject ops && ops.Count > 0 && ops.First().Key.StartsWith('$'))
        {
            var nodes = new List<QueryNode>();
            string? regex = null;
            var options = "";
            foreach (var (op, operand) in ops)
            {
                switch (op)
                {
                    case "$eq": nodes.Add(Equality(field, operand, negate: false)); break;
                    case "$ne": nodes.Add(Equality(field, operand, negate: true)); break;
                    case "$lt": nodes.Add(Compare(field, CompareOp.Lt, operand)); break;
                    case "$lte": nodes.Add(Compare(field, CompareOp.Lte, operand)); break;
                    case "$gt": nodes.Add(Compare(field, CompareOp.Gt, operand)); break;
                    case "$gte": nodes.Add(Compare(field, CompareOp.Gte, operand)); break;
                    case "$in": nodes.Add(In(field, operand, negate: false)); break;
                    case "$nin": nodes.Add(In(field, operand, negate: true)); break;
                    case "$exists":
                        if (operand is not JsonValue ev || !ev.TryGetValue(out bool exists))
                            throw new ParseException(ParseError.InvalidJson, "bad $exists value");
                        nodes.Add(new ExistsNode(field, exists));
                        break;
                    case "$regex":
                        if (operand is not JsonValue rv || !rv.TryGetValue(out regex) || regex.Length > 1024)
                            throw new ParseException(ParseError.InvalidQuery, "bad $regex value");
                        break;
                    case "$options":
                        if (operand is not JsonValue ov || !ov.TryGetValue(out string? o) || !ParseRegex.ValidOptions(o))
                            throw new ParseException(ParseError.InvalidQuery, $"Bad $options value for query: {Names.Truncate(operand?.ToJsonString() ?? "null")}");
                        options = o;
                        break;
                    case "$all":
                        nodes.Add(All(field, operand));
                        break;
                    case "$containedBy":
                        nodes.Add(new ContainedByNode(field, Values(operand, "$containedBy")));
                        break;
                    case "$inQuery" or "$notInQuery":
                        nodes.Add(InQuery(field, operand, op == "$notInQuery", scope, depth));
                        break;
                    case "$select" or "$dontSelect":
                        nodes.Add(Select(field, operand, op == "$dontSelect", scope, depth));
                        break;
                    case "$relativeTime":
                        throw new ParseException(ParseError.InvalidJson, "$relativeTime can only be used with the $lt, $lte, $gt, and $gte operators");
                    case "$text":
                        nodes.Add(TextSearch.Parse(field, operand));
                        break;
                    case "$nearSphere" or "$within" or "$geoWithin" or "$geoIntersects" or "$maxDistance"
                        or "$maxDistanceInRadians" or "$maxDistanceInMiles" or "$maxDistanceInKilometers":
                        throw new ParseException(ParseError.InvalidQuery, $"{op} is not supported by this server.");
                    default:
                        throw new ParseException(ParseError.InvalidJson, $"bad constraint: {Names.Truncate(op)}");
                }
            }
            if (regex is not null)
            {
                ParseRegex.Build(regex, options); // validate now: a bad pattern is a 102, not a store failure
                nodes.Add(new RegexNode(field, regex, options));
            }
            else if (options.Length > 0)
                throw new ParseException(ParseError.InvalidQuery, "$options requires $regex");
            return QueryNode.And(nodes);
        }
        return Equality(field, value, negate: false);
    }

    private static QueryNode Equality(FieldRef field, JsonNode? operand, bool negate)
    {
        if (field.IsRelation)
        {
            if (!TryPointer(operand, out var p)) throw new ParseException(ParseError.InvalidJson, "relation constraints take pointers");
            return new RelationContainsNode(field, [p.ObjectId], negate);
        }
        var value = ToValue(field, operand);
        return new CompareNode(field, negate ? CompareOp.Ne : CompareOp.Eq, value);
    }

    private static CompareNode Compare(FieldRef field, CompareOp op, JsonNode? operand)
    {
        if (operand is JsonObject o && o.ContainsKey("$relativeTime"))
            return new CompareNode(field, op, RelativeTime(o["$relativeTime"]));
        var value = ToValue(field, operand);
        if (value is not (NumberValue or StringValue or DateValue or BoolValue))
            throw new ParseException(ParseError.InvalidJson, $"bad atom for {OpName(op)}: {Names.Truncate(operand?.ToJsonString() ?? "null")}");
        return new CompareNode(field, op, value);
    }

    private QueryNode In(FieldRef field, JsonNode? operand, bool negate)
    {
        if (operand is not JsonArray array) throw new ParseException(ParseError.InvalidJson, $"bad {(negate ? "$nin" : "$in")} value");
        if (array.Count > limits.MaxInValues)
            throw new ParseException(ParseError.InvalidQuery, $"{(negate ? "$nin" : "$in")} has {array.Count} values; at most {limits.MaxInValues} are allowed.");
        if (field.IsRelation)
        {
            var ids = array.Select(item => TryPointer(item, out var p) ? p.ObjectId
                : throw new ParseException(ParseError.InvalidJson, "relation constraints take pointers")).ToList();
            return new RelationContainsNode(field, ids, negate);
        }
        return new InNode(field, array.Select(item => ToValue(field, item)).ToList(), negate);
    }

    private List<QueryValue> Values(JsonNode? operand, string op)
    {
        if (operand is not JsonArray array) throw new ParseException(ParseError.InvalidJson, $"bad {op} value");
        if (array.Count > limits.MaxInValues)
            throw new ParseException(ParseError.InvalidQuery, $"{op} has {array.Count} values; at most {limits.MaxInValues} are allowed.");
        if (array.Any(item => item is JsonObject o && o.ContainsKey("$regex")))
            throw new ParseException(ParseError.InvalidQuery, $"{op} with $regex elements is not supported by this server.");
        return array.Select(item => ToValue(null, item)).ToList();
    }

    /// <summary>
    /// <c>$all</c> of values, or of <c>{"$regex"}</c> elements only (the JS SDK's containsAllStartingWith):
    /// then every pattern must match some element. Mixing both kinds is ambiguous, so it is refused (107).
    /// </summary>
    private QueryNode All(FieldRef field, JsonNode? operand)
    {
        if (operand is JsonArray array && array.Count > 0 && array.Any(IsRegexElement))
        {
            if (!array.All(IsRegexElement)) throw new ParseException(ParseError.InvalidJson, "All $all values must be of regex type or none: " + Names.Truncate(array.ToJsonString()));
            if (array.Count > limits.MaxInValues)
                throw new ParseException(ParseError.InvalidQuery, $"$all has {array.Count} values; at most {limits.MaxInValues} are allowed.");
            return QueryNode.And(array.Select(item =>
            {
                if (item!["$regex"] is not JsonValue rv || !rv.TryGetValue(out string? pattern) || pattern.Length > 1024)
                    throw new ParseException(ParseError.InvalidQuery, "bad $regex value");
                ParseRegex.Build(pattern, "");
                return (QueryNode)new RegexNode(field, pattern, "");
            }));
        }
        return new AllNode(field, Values(operand, "$all"));
    }

    private static bool IsRegexElement(JsonNode? item) => item is JsonObject o && o.Count == 1 && o.ContainsKey("$regex");

    private QueryNode InQuery(FieldRef field, JsonNode? operand, bool negate, IQueryScope scope, int depth)
    {
        var name = negate ? "$notInQuery" : "$inQuery";
        if (operand is not JsonObject q || q["className"] is not JsonValue cv || !cv.TryGetValue(out string? className) || !q.ContainsKey("where"))
            throw new ParseException(ParseError.InvalidQuery, $"improper usage of {name}");
        var (inner, restriction) = SubquerySchema(className, scope);
        if (inner is null) return negate ? QueryNode.True : QueryNode.False;
        var where = QueryNode.And(ParseObject(q["where"], inner, scope, depth + 1), restriction);
        return new InQueryNode(field, className, where, negate);
    }

    private QueryNode Select(FieldRef field, JsonNode? operand, bool negate, IQueryScope scope, int depth)
    {
        var name = negate ? "$dontSelect" : "$select";
        if (operand is not JsonObject s || s.Count != 2 || s["query"] is not JsonObject q || s["key"] is not JsonValue kv
            || !kv.TryGetValue(out string? key) || q["className"] is not JsonValue cv || !cv.TryGetValue(out string? className))
            throw new ParseException(ParseError.InvalidQuery, $"improper usage of {name}");
        if (!KeyPattern().IsMatch(key)) throw new ParseException(ParseError.InvalidKeyName, $"Invalid key name: {Names.Truncate(key)}");
        var (inner, restriction) = SubquerySchema(className, scope);
        if (inner is null) return negate ? QueryNode.True : QueryNode.False;
        if (!scope.IsMaster) scope.EnsureQueryable(inner, key.Split('.')[0]);
        var where = QueryNode.And(ParseObject(q["where"], inner, scope, depth + 1), restriction);
        return new SelectNode(field, className, where, ResolveField(key, inner), negate);
    }

    private static (ClassSchema?, QueryNode) SubquerySchema(string className, IQueryScope scope)
    {
        Names.EnsureValidClass(className);
        var schema = scope.Schema(className);
        if (schema is null)
        {
            if (scope.IsMaster) return (null, QueryNode.False);
            throw new ParseException(ParseError.OperationForbidden, $"This user is not allowed to access non-existent class: {className}");
        }
        return (schema, scope.SubqueryRestriction(schema));
    }

    /// <summary>Converts a JSON operand into a typed value; dates are normalised so stores compare ISO text.</summary>
    public static QueryValue ToValue(FieldRef? field, JsonNode? node)
    {
        switch (node)
        {
            case null:
                return NullValue.Instance;
            case JsonValue v:
                switch (v.GetValueKind())
                {
                    case JsonValueKind.String:
                        var s = v.GetValue<string>();
                        if (field is { IsObjectId: false, IsSystemColumn: true } && ParseDates.TryNormalize(s, out var iso)) return new DateValue(iso);
                        return new StringValue(s);
                    case JsonValueKind.Number:
                        var d = v.GetValue<double>();
                        if (!double.IsFinite(d)) throw new ParseException(ParseError.InvalidJson, "bad atom: number out of range");
                        return new NumberValue(d);
                    case JsonValueKind.True: return new BoolValue(true);
                    case JsonValueKind.False: return new BoolValue(false);
                    default: return NullValue.Instance;
                }
            case JsonObject o when o["__type"] is JsonValue t && t.TryGetValue(out string? type):
                switch (type)
                {
                    case "Date":
                        if (o["iso"] is JsonValue isoNode && isoNode.TryGetValue(out string? isoText) && ParseDates.TryNormalize(isoText, out var normalized))
                            return new DateValue(normalized);
                        throw new ParseException(ParseError.InvalidJson, "bad atom: invalid Date");
                    case "Pointer" or "Object":
                        if (TryPointer(o, out var p)) return p;
                        throw new ParseException(ParseError.InvalidJson, "bad atom: invalid Pointer");
                    default:
                        return new DocumentValue(o);
                }
            case JsonObject o:
                if (o.Any(kv => kv.Key.StartsWith('$')))
                    throw new ParseException(ParseError.InvalidJson, $"bad constraint: {Names.Truncate(o.First(kv => kv.Key.StartsWith('$')).Key)}");
                return new DocumentValue(o);
            default:
                return new DocumentValue(node);
        }
    }

    public static bool TryPointer(JsonNode? node, out PointerValue pointer)
    {
        pointer = null!;
        if (node is JsonObject o && o["__type"] is JsonValue t && t.TryGetValue(out string? type) && type is "Pointer" or "Object"
            && o["className"] is JsonValue c && c.TryGetValue(out string? className)
            && o["objectId"] is JsonValue i && i.TryGetValue(out string? objectId) && objectId.Length is > 0 and <= 64)
        {
            pointer = new PointerValue(className, objectId);
            return true;
        }
        return false;
    }

    [GeneratedRegex(@"^(?:(?<now>now)|in (?<n>\d+(?:\.\d+)?) (?<u>[a-z]+)|(?<n>\d+(?:\.\d+)?) (?<u>[a-z]+) ago)$")]
    private static partial Regex RelativeTimePattern();

    /// <summary>Parse's <c>$relativeTime</c>: "now", "in 2 weeks", "3 days ago".</summary>
    private static DateValue RelativeTime(JsonNode? node)
    {
        if (node is not JsonValue v || !v.TryGetValue(out string? text))
            throw new ParseException(ParseError.InvalidJson, "$relativeTime must be a string");
        var m = RelativeTimePattern().Match(text.Trim().ToLowerInvariant());
        if (!m.Success) throw new ParseException(ParseError.InvalidJson, $"bad $relativeTime ({Names.Truncate(text)})");
        var now = DateTimeOffset.UtcNow;
        if (m.Groups["now"].Success) return new DateValue(ParseDates.Format(now));
        var amount = double.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture);
        var seconds = m.Groups["u"].Value switch
        {
            "yr" or "yrs" or "year" or "years" => 365 * 86400.0,
            "wk" or "wks" or "week" or "weeks" => 7 * 86400.0,
            "d" or "day" or "days" => 86400.0,
            "hr" or "hrs" or "hour" or "hours" => 3600.0,
            "min" or "mins" or "minute" or "minutes" => 60.0,
            "sec" or "secs" or "second" or "seconds" => 1.0,
            _ => throw new ParseException(ParseError.InvalidJson, $"bad $relativeTime unit ({Names.Truncate(text)})"),
        };
        var offset = TimeSpan.FromSeconds(Math.Min(amount * seconds, 6e10));
        return new DateValue(ParseDates.Format(text.Contains("ago", StringComparison.Ordinal) ? now - offset : now + offset));
    }

    private static string OpName(CompareOp op) => op switch
    {
        CompareOp.Lt => "$lt", CompareOp.Lte => "$lte", CompareOp.Gt => "$gt", CompareOp.Gte => "$gte", _ => op.ToString(),
    };
}
