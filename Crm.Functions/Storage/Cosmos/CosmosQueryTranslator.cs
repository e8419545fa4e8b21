using System.Text;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Microsoft.Azure.Cosmos;

namespace Crm.Functions.Storage.Cosmos;

/// <summary>
/// A sub-query already resolved by the store to a bounded id list: the field (objectId, a pointer or an
/// array of pointers) names one of <paramref name="Ids"/> of <paramref name="TargetClass"/>.
/// </summary>
internal sealed record IdListNode(FieldRef Field, string? TargetClass, IReadOnlyList<string> Ids, bool Negate) : QueryNode;

/// <summary>
/// Translates a <see cref="QueryNode"/> tree into one Cosmos SQL statement over the item shape
/// <c>{ id, ownerId, createdAt, updatedAt, acl?, rperm?, wperm?, data: { fields… } }</c>.
/// <list type="bullet">
/// <item>Values only ever travel as parameters (<c>@p0</c>, …): no user text is concatenated into SQL, so no
/// value can change the statement.</item>
/// <item>Field paths are embedded, in bracket notation (<c>c["data"]["stage"]</c>), because the engine only
/// serves a path from the index (and composite indexes) when it appears literally; that is safe because
/// <see cref="Core.Json.Names"/> admits nothing but [A-Za-z0-9_] in field names. Brackets, not dots, because a
/// field may be called <c>value</c>, <c>select</c> or <c>order</c>, which are keywords after a dot.</item>
/// <item>Every leaf is a strict boolean. Cosmos comparisons between different types, or with a missing
/// property, yield <c>undefined</c>, and <c>NOT undefined</c> is still <c>undefined</c>: without type guards
/// (<c>IS_STRING</c>, <c>IS_NUMBER</c>…) <c>$ne</c>/<c>$nin</c>/<c>$nor</c> would silently drop objects whose
/// field is missing or of another type, unlike Parse (Mongo) and the SQLite store.</item>
/// </list>
/// Cross-container constructs (sub-queries, relations) must be resolved to <see cref="IdListNode"/>/<see cref="InNode"/>
/// by the store first: Cosmos has no joins across containers.
/// </summary>
internal sealed class CosmosQueryTranslator
{
    private readonly List<(string Name, object? Value)> _parameters = [];

    public IReadOnlyList<(string Name, object? Value)> Parameters => _parameters;

    public string Param(object? value)
    {
        var name = "@p" + _parameters.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _parameters.Add((name, value));
        return name;
    }

    public QueryDefinition Build(string sql)
    {
        var query = new QueryDefinition(sql);
        foreach (var (name, value) in _parameters) query = query.WithParameter(name, value);
        return query;
    }

    /// <summary>A property path in bracket notation; every segment is a validated name (see the class comment).</summary>
    public static string Prop(string root, params IEnumerable<string> segments)
    {
        var sb = new StringBuilder(root);
        foreach (var segment in segments) sb.Append("[\"").Append(segment).Append("\"]");
        return sb.ToString();
    }

    public static string Expr(FieldRef field, string root = "c")
    {
        if (field.IsObjectId) return Prop(root, "id");
        if (field.IsCreatedAt) return Prop(root, "createdAt");
        if (field.IsUpdatedAt) return Prop(root, "updatedAt");
        return Prop(root, ["data", field.Name, .. field.Path]);
    }

    private static string Sub(string expr, string key) => expr + "[\"" + key + "\"]";

    /// <summary>The expression ordered by (and composite-indexed): Dates by ISO text, pointers by object id — as SQLite.</summary>
    public static string SortExpr(FieldRef field, string root = "c") =>
        field.IsSystemColumn || field.Path.Count > 0 ? Expr(field, root) : field.Definition?.Type switch
        {
            FieldType.Date => Sub(Expr(field, root), "iso"),
            FieldType.Pointer => Sub(Expr(field, root), "objectId"),
            _ => Expr(field, root),
        };

    /// <summary>The index path of <see cref="SortExpr"/> (e.g. <c>/data/expectedCloseDate/iso</c>), for composite indexes.</summary>
    public static string IndexPath(FieldRef field)
    {
        if (field.IsObjectId) return "/id";
        if (field.IsCreatedAt) return "/createdAt";
        if (field.IsUpdatedAt) return "/updatedAt";
        var path = "/data/" + field.Name + string.Concat(field.Path.Select(p => "/" + p));
        return field.Path.Count > 0 ? path : field.Definition?.Type switch
        {
            FieldType.Date => path + "/iso",
            FieldType.Pointer => path + "/objectId",
            _ => path,
        };
    }

    public static string OrderBy(IReadOnlyList<SortKey> order) =>
        order.Count == 0 ? "" : " ORDER BY " + string.Join(", ", order.Select(k => SortExpr(k.Field) + (k.Descending ? " DESC" : " ASC")));

    /// <summary>"(@p1, @p2, …)": an IN list, each value its own parameter (the form the index serves).</summary>
    private string List(IEnumerable<object?> values) => "(" + string.Join(", ", values.Select(Param)) + ")";

    public string Where(QueryNode node) => node switch
    {
        ConstNode c => c.Value ? "true" : "false",
        AndNode a => "(" + string.Join(" AND ", a.Children.Select(Where)) + ")",
        OrNode o => "(" + string.Join(" OR ", o.Children.Select(Where)) + ")",
        NotNode n => $"NOT ({Where(n.Child)})",
        CompareNode c => Compare(c),
        InNode i => In(i),
        ExistsNode e => e.Field.IsSystemColumn ? (e.Exists ? "true" : "false") : (e.Exists ? "" : "NOT ") + $"IS_DEFINED({Expr(e.Field)})",
        RegexNode r => Regex(r),
        AllNode a => a.Values.Count == 0 ? "true" : "(" + string.Join(" AND ", a.Values.Select(v => Contains(a.Field, v))) + ")",
        // Elements of another type are simply "not in the list", as in SQLite; a missing array contains nothing.
        ContainedByNode c => $"NOT EXISTS(SELECT VALUE x FROM x IN {Expr(c.Field)} WHERE NOT ARRAY_CONTAINS({Param(new JsonArray(c.Values.Select(Scalar).ToArray()))}, x))",
        IdListNode l => IdList(l),
        // The ACL lives in the item itself, so read filtering happens inside this query: hidden objects never
        // count towards TOP/limit or COUNT. No rperm property means "no ACL": public, as Parse.
        AclNode a => $"(NOT IS_DEFINED({Prop("c", a.Write ? "wperm" : "rperm")}) OR EXISTS(SELECT VALUE g FROM g IN {Prop("c", a.Write ? "wperm" : "rperm")} WHERE "
                     + (a.Groups.Count == 0 ? "false" : $"g IN {List(a.Groups)}") + "))",
        TextNode t => Text(t),
        _ => throw new NotSupportedException($"{node.GetType().Name} must be resolved by the store before translation."),
    };

    /// <summary>Where an item keeps the searchable form of a text-indexed field (see CosmosObjectStore.ToItem).</summary>
    public const string SearchProperty = "search";

    /// <summary>
    /// Full text on the item's <see cref="SearchProperty"/> copy of the field, its words in <see cref="TextSearch.Normalized"/>
    /// form (" acme renewal "): a word that begins with w is the substring " w", a phrase " w1 w2". Plain CONTAINS, which
    /// every Cosmos account (and the local API server) has, gives exactly the SQLite store's FTS5 answers.
    /// </summary>
    private string Text(TextNode t)
    {
        var e = Prop("c", SearchProperty, t.Field.Name);
        string Has(IReadOnlyList<string> phrase) => $"CONTAINS({e}, {Param(TextSearch.Needle(phrase))})";
        var positive = t.Terms.Phrases.Count > 0
            ? string.Join(" AND ", t.Terms.Phrases.Select(Has))
            : string.Join(" OR ", t.Terms.Words.Select(Has));
        var sql = $"(IS_STRING({e}) AND ({positive})";
        if (t.Terms.Excluded.Count > 0) sql += $" AND NOT ({string.Join(" OR ", t.Terms.Excluded.Select(Has))})";
        return sql + ")";
    }

    private string Compare(CompareNode c)
    {
        var field = c.Field;
        if (c.Op == CompareOp.Ne) return $"NOT ({Compare(c with { Op = CompareOp.Eq })})";
        if (c.Op == CompareOp.Eq && field.IsArray && c.Value is not (NullValue or DocumentValue)) return Contains(field, c.Value);
        var op = c.Op switch { CompareOp.Eq => "=", CompareOp.Lt => "<", CompareOp.Lte => "<=", CompareOp.Gt => ">", _ => ">=" };
        var e = Expr(field);

        if (field.IsSystemColumn)
        {
            return c.Value switch
            {
                StringValue s when field.IsObjectId => $"{e} {op} {Param(s.Value)}",
                DateValue d when !field.IsObjectId => $"{e} {op} {Param(d.Iso)}",
                _ => "false",
            };
        }
        return c.Value switch
        {
            // Mongo: null matches a missing field too.
            NullValue => c.Op == CompareOp.Eq ? $"(NOT IS_DEFINED({e}) OR IS_NULL({e}))" : "false",
            StringValue s => $"(IS_STRING({e}) AND {e} {op} {Param(s.Value)})",
            NumberValue n => $"(IS_NUMBER({e}) AND {e} {op} {Param(n.Value)})",
            BoolValue b => $"(IS_BOOL({e}) AND {e} {op} {Param(b.Value)})",
            DateValue d => $"(IS_STRING({Sub(e, "iso")}) AND {Sub(e, "iso")} {op} {Param(d.Iso)})",
            PointerValue p when c.Op == CompareOp.Eq => PointerIn(field, e, p.ClassName, [p.ObjectId]),
            DocumentValue j when c.Op == CompareOp.Eq => $"({(j.Node is JsonArray ? "IS_ARRAY" : "IS_OBJECT")}({e}) AND {e} = {Param(j.Node.DeepClone())})",
            _ => "false",
        };
    }

    /// <summary>Pointer field names one of the ids; the class is checked only when the schema lets it vary.</summary>
    private string PointerIn(FieldRef field, string e, string className, IReadOnlyList<string> ids)
    {
        if (ids.Count == 0) return "false";
        var id = Sub(e, "objectId");
        var match = $"IS_STRING({id}) AND {id} IN {List(ids)}";
        return field.Definition is { Type: FieldType.Pointer } def && def.TargetClasses.Count == 1
            ? (def.Targets(className) ? $"({match})" : "false")
            : $"({match} AND {Sub(e, "className")} = {Param(className)})";
    }

    /// <summary>"Array contains value": ARRAY_CONTAINS for scalars (type-strict, as Mongo), EXISTS for pointers and dates.</summary>
    private string Contains(FieldRef field, QueryValue value)
    {
        var e = Expr(field);
        return value switch
        {
            PointerValue p => $"EXISTS(SELECT VALUE x FROM x IN {e} WHERE x[\"objectId\"] = {Param(p.ObjectId)} AND x[\"className\"] = {Param(p.ClassName)})",
            DateValue d => $"EXISTS(SELECT VALUE x FROM x IN {e} WHERE x[\"iso\"] = {Param(d.Iso)})",
            StringValue s => $"(IS_ARRAY({e}) AND ARRAY_CONTAINS({e}, {Param(s.Value)}))",
            NumberValue n => $"(IS_ARRAY({e}) AND ARRAY_CONTAINS({e}, {Param(n.Value)}))",
            BoolValue b => $"(IS_ARRAY({e}) AND ARRAY_CONTAINS({e}, {Param(b.Value)}))",
            NullValue => $"(IS_ARRAY({e}) AND ARRAY_CONTAINS({e}, null))",
            DocumentValue j => $"(IS_ARRAY({e}) AND ARRAY_CONTAINS({e}, {Param(j.Node.DeepClone())}))",
            _ => "false",
        };
    }

    private string In(InNode node)
    {
        var field = node.Field;
        var e = Expr(field);
        var parts = new List<string>();
        if (field.IsObjectId)
        {
            var ids = node.Values.OfType<StringValue>().Select(s => (object?)s.Value).ToList();
            if (ids.Count > 0) parts.Add($"{e} IN {List(ids)}");
        }
        else if (field.IsSystemColumn)
        {
            var dates = node.Values.OfType<DateValue>().Select(d => (object?)d.Iso).ToList();
            if (dates.Count > 0) parts.Add($"{e} IN {List(dates)}");
        }
        else if (field.IsArray)
        {
            parts.AddRange(node.Values.Select(v => Contains(field, v)));
        }
        else
        {
            var strings = node.Values.OfType<StringValue>().Select(s => (object?)s.Value).ToList();
            if (strings.Count > 0) parts.Add($"(IS_STRING({e}) AND {e} IN {List(strings)})");
            var numbers = node.Values.OfType<NumberValue>().Select(n => (object?)n.Value).ToList();
            if (numbers.Count > 0) parts.Add($"(IS_NUMBER({e}) AND {e} IN {List(numbers)})");
            var dates = node.Values.OfType<DateValue>().Select(d => (object?)d.Iso).ToList();
            if (dates.Count > 0) parts.Add($"(IS_STRING({Sub(e, "iso")}) AND {Sub(e, "iso")} IN {List(dates)})");
            foreach (var group in node.Values.OfType<PointerValue>().GroupBy(p => p.ClassName, StringComparer.Ordinal))
                parts.Add(PointerIn(field, e, group.Key, group.Select(p => p.ObjectId).ToList()));
            parts.AddRange(node.Values.Where(v => v is NullValue or BoolValue or DocumentValue)
                .Select(v => Compare(new CompareNode(field, CompareOp.Eq, v))));
        }
        var any = parts.Count == 0 ? "false" : "(" + string.Join(" OR ", parts) + ")";
        return node.Negate ? $"NOT {any}" : any;
    }

    private string IdList(IdListNode node)
    {
        var e = Expr(node.Field);
        string match;
        if (node.Ids.Count == 0) match = "false";
        else if (node.Field.IsObjectId) match = $"{e} IN {List(node.Ids)}";
        else if (node.Field.IsArray)
            match = $"EXISTS(SELECT VALUE x FROM x IN {e} WHERE x[\"className\"] = {Param(node.TargetClass)} AND x[\"objectId\"] IN {List(node.Ids)})";
        else
        {
            var id = Sub(e, "objectId");
            match = $"(IS_STRING({id}) AND {id} IN {List(node.Ids)} AND {Sub(e, "className")} = {Param(node.TargetClass)})";
        }
        return node.Negate ? $"NOT ({match})" : match;
    }

    private string Regex(RegexNode r)
    {
        // Mongo semantics, which Parse inherits (and SQLite follows): a regex on an array matches when any
        // string element does. This is also how $all of {$regex} elements (containsAllStartingWith) is served.
        if (r.Field.IsArray)
            return $"EXISTS(SELECT VALUE x FROM x IN {Expr(r.Field)} WHERE {StringMatch("x", "IS_STRING(x)", r)})";
        var e = Expr(r.Field);
        return StringMatch(e, r.Field.IsSystemColumn ? "true" : $"IS_STRING({e})", r);
    }

    private string StringMatch(string e, string guard, RegexNode r)
    {
        // startsWith (the SDKs' ^\Q…\E): STARTSWITH is served by the index; a regex scans every item.
        if (ParseRegex.LiteralPrefix(r.Pattern, r.Options) is { } prefix)
            return $"({guard} AND STARTSWITH({e}, {Param(prefix)}))";
        var pattern = Unquote(r.Pattern);
        return r.Options.Length == 0
            ? $"({guard} AND RegexMatch({e}, {Param(pattern)}))"
            : $"({guard} AND RegexMatch({e}, {Param(pattern)}, {Param(r.Options)}))";
    }

    /// <summary>
    /// Rewrites PCRE <c>\Q…\E</c> quoting (used by the SDKs' contains/endsWith) into escaped characters, so the
    /// pattern means the same to engines that lack \Q (JavaScript-based ones among them).
    /// </summary>
    internal static string Unquote(string pattern) => ParseRegex.TranslateQuoting(pattern, literal =>
    {
        var sb = new StringBuilder(literal.Length * 2);
        foreach (var ch in literal)
        {
            if (@"\^$.|?*+()[]{}/-".Contains(ch, StringComparison.Ordinal)) sb.Append('\\');
            sb.Append(ch);
        }
        return sb.ToString();
    });

    private static JsonNode? Scalar(QueryValue v) => v switch
    {
        StringValue s => s.Value,
        NumberValue n => n.Value,
        BoolValue b => b.Value,
        DateValue d => d.Iso,
        PointerValue p => p.ObjectId,
        DocumentValue j => j.Node.DeepClone(),
        _ => null,
    };
}
