using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Store;

namespace Crm.Functions.Core.Query;

/// <summary>
/// Evaluates a <see cref="QueryNode"/> against one object in memory, with the semantics of
/// <c>SqliteQueryTranslator</c>: the same type guards, null/missing rules, array "contains", pointer
/// equality and ACL groups. Real time decides "may this user read this object" by running the very
/// restriction <see cref="Security.AccessPolicy"/> hands to the stores through this matcher, so a
/// subscriber can never see an object that a REST query by the same user would not return (the drift
/// behind parse-server's LiveQuery advisories). SQL's NULL becomes false at every leaf; that is exact
/// because the translator wraps every negation in <c>NOT COALESCE(…, 0)</c>.
/// </summary>
internal static class QueryMatcher
{
    /// <summary>True when the node needs the store (sub-queries, relations) and cannot be decided in memory.</summary>
    public static bool NeedsStore(QueryNode node) => node switch
    {
        InQueryNode or SelectNode or RelatedToNode or RelationContainsNode or TextNode => true,
        AndNode a => a.Children.Any(NeedsStore),
        OrNode o => o.Children.Any(NeedsStore),
        NotNode n => NeedsStore(n.Child),
        _ => false,
    };

    public static bool Matches(QueryNode node, StoredObject obj) => node switch
    {
        ConstNode c => c.Value,
        AndNode a => a.Children.All(child => Matches(child, obj)),
        OrNode o => o.Children.Any(child => Matches(child, obj)),
        NotNode n => !Matches(n.Child, obj),
        CompareNode c => Compare(c, obj),
        InNode i => In(i, obj),
        ExistsNode e => e.Field.IsSystemColumn ? e.Exists : (Resolve(e.Field, obj) is not Missing) == e.Exists,
        RegexNode r => Regex(r, obj),
        AllNode a => a.Values.All(v => Contains(a.Field, obj, v)),
        ContainedByNode c => ContainedBy(c, obj),
        AclNode a => Acl(a, obj),
        // Sub-queries and relations read other rows; deciding them here would need the store and could
        // silently disagree with it, so callers must reject them before matching (see NeedsStore).
        _ => throw new NotSupportedException($"{node.GetType().Name} cannot be evaluated in memory."),
    };

    /// <summary>
    /// No ACL (Parse's public object) is readable by all; otherwise one of the caller's groups must be
    /// granted. An ACL of {} is readable by nobody but master, exactly as the store's rperm check.
    /// </summary>
    private static bool Acl(AclNode node, StoredObject obj)
    {
        var granted = node.Write ? obj.WritePermissions : obj.ReadPermissions;
        return granted is null || granted.Any(g => node.Groups.Contains(g, StringComparer.Ordinal));
    }

    // ---- field access ------------------------------------------------------------------------------------

    /// <summary>A field that is absent (SQL: json_type IS NULL), distinct from a stored JSON null.</summary>
    private sealed class Missing
    {
        public static readonly Missing Instance = new();
    }

    /// <summary>The stored JSON at the field's path: a JsonNode, null for a JSON null, or <see cref="Missing"/>.</summary>
    private static object? Resolve(FieldRef field, StoredObject obj, string? suffix = null)
    {
        if (field.IsObjectId) return JsonValue.Create(obj.ObjectId);
        if (field.IsCreatedAt) return JsonValue.Create(obj.CreatedAt);
        if (field.IsUpdatedAt) return JsonValue.Create(obj.UpdatedAt);
        if (!obj.Data.TryGetPropertyValue(field.Name, out var node)) return Missing.Instance;
        foreach (var segment in suffix is null ? field.Path : [.. field.Path, suffix])
        {
            // json_extract follows object keys only; anything else on the way is "absent".
            if (node is not JsonObject o || !o.TryGetPropertyValue(segment, out node)) return Missing.Instance;
        }
        return node;
    }

    private static JsonValueKind Kind(object? value) => value switch
    {
        Missing => JsonValueKind.Undefined,
        null => JsonValueKind.Null,
        JsonNode n => n.GetValueKind(),
        _ => JsonValueKind.Undefined,
    };

    private static bool IsNullOrMissing(object? value) => value is null or Missing;

    private static string? Text(object? value) => value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    private static double? Number(object? value)
    {
        if (value is not JsonValue v || v.GetValueKind() != JsonValueKind.Number) return null;
        if (v.TryGetValue(out double d)) return d;
        return double.Parse(v.ToJsonString(), CultureInfo.InvariantCulture);
    }

    private static bool? Bool(object? value) => Kind(value) switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    private static bool Holds(CompareOp op, int comparison) => op switch
    {
        CompareOp.Eq => comparison == 0,
        CompareOp.Ne => comparison != 0,
        CompareOp.Lt => comparison < 0,
        CompareOp.Lte => comparison <= 0,
        CompareOp.Gt => comparison > 0,
        _ => comparison >= 0,
    };

    // ---- comparisons -------------------------------------------------------------------------------------

    private static bool Compare(CompareNode c, StoredObject obj)
    {
        var field = c.Field;
        if (c.Op == CompareOp.Ne) return !Compare(c with { Op = CompareOp.Eq }, obj);
        // Equality on an Array field means "contains" (Mongo/Parse semantics), except for null and whole arrays.
        if (c.Op == CompareOp.Eq && field.IsArray && c.Value is not (NullValue or DocumentValue)) return Contains(field, obj, c.Value);

        if (field.IsSystemColumn)
        {
            var column = Text(Resolve(field, obj))!;
            return c.Value switch
            {
                StringValue s when field.IsObjectId => Holds(c.Op, string.CompareOrdinal(column, s.Value)),
                DateValue d when !field.IsObjectId => Holds(c.Op, string.CompareOrdinal(column, d.Iso)),
                _ => false,
            };
        }

        var value = Resolve(field, obj);
        switch (c.Value)
        {
            case NullValue:
                return c.Op == CompareOp.Eq && IsNullOrMissing(value);
            case StringValue s:
                // Type guard: a number 5 never equals the string "5", as in the store.
                return Text(value) is { } text && Holds(c.Op, string.CompareOrdinal(text, s.Value));
            case NumberValue n:
                return Number(value) is { } number && Holds(c.Op, number.CompareTo(n.Value));
            case BoolValue b:
                return Bool(value) is { } flag && Holds(c.Op, flag.CompareTo(b.Value));
            case DateValue d:
                return Text(Resolve(field, obj, "iso")) is { } iso && Holds(c.Op, string.CompareOrdinal(iso, d.Iso));
            case PointerValue p when c.Op == CompareOp.Eq:
                return PointerEquals(field, obj, p);
            case DocumentValue doc when c.Op == CompareOp.Eq:
                return value is JsonNode node && JsonNode.DeepEquals(node, doc.Node);
            default:
                return false;
        }
    }

    /// <summary>
    /// Pointer equality by id, and by class unless the schema fixes the class. Pointer permissions
    /// (assignedTo = me) rest on this: a pointer to another class with the caller's id must not pass.
    /// </summary>
    private static bool PointerEquals(FieldRef field, StoredObject obj, PointerValue p)
    {
        if (Text(Resolve(field, obj, "objectId")) != p.ObjectId) return false;
        return field.Definition is { Type: FieldType.Pointer } def && def.TargetClasses.Count == 1
            ? def.Targets(p.ClassName)
            : Text(Resolve(field, obj, "className")) == p.ClassName;
    }

    /// <summary>The rows json_each yields: array elements, object member values, or a scalar itself.</summary>
    private static IEnumerable<JsonNode?> Elements(FieldRef field, StoredObject obj) => Resolve(field, obj) switch
    {
        Missing => [],
        JsonArray a => a,
        JsonObject o => o.Select(kv => kv.Value),
        var scalar => [(JsonNode?)scalar],
    };

    private static bool Contains(FieldRef field, StoredObject obj, QueryValue value) =>
        Elements(field, obj).Any(e => ElementEquals(e, value));

    private static bool ElementEquals(JsonNode? element, QueryValue value) => value switch
    {
        PointerValue p => element is JsonObject o && Text(o["objectId"]) == p.ObjectId && Text(o["className"]) == p.ClassName,
        DateValue d => element is JsonObject o && Text(o["iso"]) == d.Iso,
        StringValue s => Text(element) == s.Value,
        NumberValue n => Number(element) is { } number && number.Equals(n.Value),
        BoolValue b => Bool(element) == b.Value,
        NullValue => element is null || Kind(element) == JsonValueKind.Null,
        DocumentValue doc => element is not null && JsonNode.DeepEquals(element, doc.Node),
        _ => false,
    };

    private static bool In(InNode node, StoredObject obj)
    {
        var field = node.Field;
        bool any;
        if (field.IsObjectId)
            any = node.Values.OfType<StringValue>().Any(s => s.Value == obj.ObjectId);
        else if (field.IsSystemColumn)
        {
            var column = Text(Resolve(field, obj));
            any = node.Values.OfType<DateValue>().Any(d => d.Iso == column);
        }
        else if (field.IsArray)
            any = node.Values.Any(v => Contains(field, obj, v));
        else
        {
            var value = Resolve(field, obj);
            var text = Text(value);
            var number = Number(value);
            any = node.Values.Any(v => v switch
            {
                StringValue s => text == s.Value,
                NumberValue n => number is { } x && x.Equals(n.Value),
                DateValue d => Text(Resolve(field, obj, "iso")) == d.Iso,
                PointerValue p => PointerEquals(field, obj, p),
                NullValue or BoolValue or DocumentValue => Compare(new CompareNode(field, CompareOp.Eq, v), obj),
                _ => false,
            });
        }
        return node.Negate ? !any : any;
    }

    private static bool Regex(RegexNode r, StoredObject obj)
    {
        // Only strings match a regex; a number is never coerced to text (the store's json_type guard).
        if (Text(Resolve(r.Field, obj)) is not { } text) return false;
        if (ParseRegex.LiteralPrefix(r.Pattern, r.Options) is { } prefix)
            return string.CompareOrdinal(text, prefix) >= 0 && string.CompareOrdinal(text, prefix + "\U0010FFFF") < 0;
        // In-memory matches (real-time filters) spend from the ambient budget like the stores' matches do, so
        // one evaluation cannot repeat slow matches without bound.
        // A match that times out throws on its own.
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var matched = ParseRegex.IsMatch(r.Pattern, r.Options, text);
        Requests.RequestBudget.Current?.ChargeRegex(System.Diagnostics.Stopwatch.GetElapsedTime(started));
        return matched;
    }

    /// <summary>Every (non-null) element is one of the listed scalars; a missing field is trivially contained.</summary>
    private static bool ContainedBy(ContainedByNode node, StoredObject obj) =>
        Elements(node.Field, obj).Where(e => e is not null && Kind(e) != JsonValueKind.Null).All(e => node.Values.Any(v => v switch
        {
            StringValue s => Text(e) == s.Value,
            NumberValue n => Number(e) is { } x && x.Equals(n.Value),
            BoolValue b => Bool(e) == b.Value,
            DateValue d => Text(e) == d.Iso,
            PointerValue p => Text(e) == p.ObjectId,
            DocumentValue doc => JsonNode.DeepEquals(e, doc.Node),
            _ => false,
        }));
}
