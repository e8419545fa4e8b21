using System.Text;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;

namespace Crm.Functions.Storage.Sqlite;

/// <summary>
/// Translates a <see cref="QueryNode"/> tree into one SQLite statement over JSON documents. Values always
/// travel as parameters; field names are embedded as JSON-path literals because SQLite only uses an
/// expression index when the query repeats the indexed expression exactly — this is safe because
/// <see cref="Names"/> admits nothing but [A-Za-z0-9_] in field names. Value lists ($in, …) are passed as one
/// JSON-array parameter read with json_each, so a list's size never changes the statement text; the caller's
/// ACL groups are few and tested on every visited row, so they get one cheap test each.
/// </summary>
internal sealed class SqliteQueryTranslator
{
    private readonly List<(string Name, object Value)> _parameters = [];
    private int _aliasCounter;

    public IReadOnlyList<(string Name, object Value)> Parameters => _parameters;

    public static string Table(string className) => "\"c_" + className + "\"";

    public string NewAlias() => "t" + _aliasCounter++;

    /// <summary>
    /// <c>LIMIT n</c> as a literal, and <c>OFFSET</c> only past the first page (then bound). Since SQLite 3.47 a bound
    /// LIMIT value may steer the plan, so SQLite marks the statement to be compiled again whenever that parameter is
    /// bound, even to the same value: a kept prepared statement was parsed and planned anew on every get by id (a sixth of
    /// the server's CPU in scenario (a)). Limits are integers the server bounds (MaxLimit), so a literal is safe, and the
    /// few values clients use keep the per-connection statement cache small.
    /// </summary>
    public static string LimitOffset(int limit, int skip, SqliteQueryTranslator translator) =>
        skip == 0 ? $" LIMIT {limit.ToString(System.Globalization.CultureInfo.InvariantCulture)}"
            : $" LIMIT {limit.ToString(System.Globalization.CultureInfo.InvariantCulture)} OFFSET {translator.Param(skip)}";

    public string Param(object value)
    {
        var name = "$p" + _parameters.Count;
        _parameters.Add((name, value));
        return name;
    }

    private string ListParam(IEnumerable<JsonNode?> values) => Param(new JsonArray(values.ToArray()).ToJsonString(SqliteJson.Options));

    /// <summary>The SQL expression for a field, or for the part of it a value of this kind compares with.</summary>
    public static string Expr(FieldRef field, string alias, string suffix = "")
    {
        if (field.IsObjectId) return Column(alias, "id");
        if (field.IsCreatedAt) return Column(alias, "created_at");
        if (field.IsUpdatedAt) return Column(alias, "updated_at");
        return $"json_extract({Column(alias, "data")}, '{JsonPath(field)}{suffix}')";
    }

    /// <summary>An empty alias gives bare column names, as index definitions need.</summary>
    private static string Column(string alias, string column) => alias.Length == 0 ? column : alias + "." + column;

    public static string JsonPath(FieldRef field) => field.Path.Count == 0 ? "$." + field.Name : "$." + field.Name + "." + string.Join('.', field.Path);

    /// <summary>The expression used for ordering and indexes: Dates by their ISO text, pointers by object id.</summary>
    public static string SortExpr(FieldRef field, string alias) =>
        field.IsSystemColumn || field.Path.Count > 0 ? Expr(field, alias) : field.Definition?.Type switch
        {
            FieldType.Date => Expr(field, alias, ".iso"),
            FieldType.Pointer => Expr(field, alias, ".objectId"),
            _ => Expr(field, alias),
        };

    private static string JsonType(FieldRef field, string alias, string suffix = "") => $"json_type({alias}.data, '{JsonPath(field)}{suffix}')";

    public string Where(QueryNode node, string alias, string className) => node switch
    {
        ConstNode c => c.Value ? "1" : "0",
        AndNode a => Join(" AND ", a.Children.Select(n => Where(n, alias, className)).ToList()),
        OrNode o => Join(" OR ", o.Children.Select(n => Where(n, alias, className)).ToList()),
        NotNode n => $"NOT COALESCE({Where(n.Child, alias, className)}, 0)",
        CompareNode c => Compare(c, alias),
        InNode i => In(i, alias),
        ExistsNode e => e.Field.IsSystemColumn ? (e.Exists ? "1" : "0") : $"{JsonType(e.Field, alias)} IS {(e.Exists ? "NOT " : "")}NULL",
        RegexNode r => Regex(r, alias),
        AllNode a => a.Values.Count == 0 ? "1" : Join(" AND ", a.Values.Select(v => Contains(a.Field, alias, v)).ToList()),
        ContainedByNode c => $"NOT EXISTS (SELECT 1 FROM json_each({alias}.data, '{JsonPath(c.Field)}') je WHERE je.value NOT IN (SELECT value FROM json_each({ListParam(c.Values.Select(Scalar))})))",
        InQueryNode q => InQuery(q, alias, className),
        SelectNode s => Select(s, alias),
        RelatedToNode r => RelatedTo(r, alias),
        RelationContainsNode r => (r.Negate ? "NOT " : "") + $"EXISTS (SELECT 1 FROM \"_relations\" r WHERE r.owner_class = {Param(className)} AND r.field = {Param(r.Field.Name)} AND r.owner_id = {alias}.id AND r.related_id IN (SELECT value FROM json_each({ListParam(r.Ids.Select(id => (JsonNode)id))})))",
        AclNode a => Acl(a, alias),
        TextNode t => Text(t, alias, className),
        _ => throw new NotSupportedException(node.GetType().Name),
    };

    // ---- full-text search --------------------------------------------------------------------------------

    /// <summary>
    /// The FTS5 table of a field's text index, keyed by the class table's rowid. A ':' cannot occur in class or field
    /// names, so no two indexes share a name, and every index of a class starts with <see cref="FtsPrefix"/>.
    /// </summary>
    public static string FtsTable(string className, string field) => "\"" + FtsPrefix(className) + field + "\"";

    public static string FtsPrefix(string className) => "fts:" + className + ":";

    /// <summary>The rows whose field matches: a lookup in the field's FTS5 index (kept by triggers, see SqliteObjectStore).</summary>
    private string Text(TextNode t, string alias, string className)
    {
        var table = FtsTable(className, t.Field.Name);
        return $"{alias}.rowid IN (SELECT rowid FROM {table} WHERE {table} MATCH {Param(MatchQuery(t.Terms))})";
    }

    /// <summary>
    /// The terms in FTS5's query language: each word or phrase a prefix phrase (<c>"big dea"*</c>, the last word a
    /// prefix), words joined by OR, phrases by AND, exclusions after NOT. Tokens are letters and digits only, so
    /// they need no escaping inside the quotes.
    /// </summary>
    public static string MatchQuery(TextTerms terms)
    {
        static string Phrase(IReadOnlyList<string> tokens) => "\"" + string.Join(' ', tokens) + "\"*";
        var positive = terms.Phrases.Count > 0 ? string.Join(" AND ", terms.Phrases.Select(Phrase)) : string.Join(" OR ", terms.Words.Select(Phrase));
        return terms.Excluded.Count == 0 ? positive : $"({positive}) NOT ({string.Join(" OR ", terms.Excluded.Select(Phrase))})";
    }

    /// <summary>Relevance of the row: <see cref="TextSearch.Score(TextTerms, string?)"/> (crm_text_score) summed over the query's text constraints.</summary>
    public string Score(IReadOnlyList<TextNode> ranking, string alias) =>
        string.Join(" + ", ranking.Select(t => $"crm_text_score({Param(ScoreTerms(t.Terms))}, {Expr(t.Field, alias)})"));

    /// <summary>The ranking phrases as crm_text_score takes them: one per line, tokens separated by spaces.</summary>
    public static string ScoreTerms(TextTerms terms) => string.Join('\n', terms.Words.Concat(terms.Phrases).Select(p => string.Join(' ', p)));

    public static TextTerms FromScoreTerms(string text) =>
        new([.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => (IReadOnlyList<string>)line.Split(' '))], [], []);

    /// <summary>The result column that holds the relevance, when the query ranks (order=$score sorts by it).</summary>
    public const string ScoreColumn = "crm_score";

    /// <summary>
    /// Terms joined by AND/OR. SQLite parses <c>a OR b OR c …</c> into a tree one level deeper per term and refuses
    /// trees deeper than 1,000 ("Expression tree is too large"), which long lists and nested $or reached; so
    /// long lists are joined as balanced halves (depth log n). Short ones keep their plain text.
    /// </summary>
    private static string Join(string op, List<string> terms) => terms.Count <= 8
        ? "(" + string.Join(op, terms) + ")"
        : "(" + Join(op, terms[..(terms.Count / 2)]) + op + Join(op, terms[(terms.Count / 2)..]) + ")";

    /// <summary>
    /// "No ACL, or the ACL names one of the caller's groups". rperm/wperm hold JSON arrays of strings written by one
    /// serializer (<see cref="SqliteJson"/>), so a group is an element exactly when its JSON text, quotes included,
    /// occurs in the array's text: a quote inside an element is always escaped. instr costs a fraction of
    /// json_each per row, and this check runs on every row a query visits.
    /// </summary>
    private string Acl(AclNode a, string alias)
    {
        var column = Column(alias, a.Write ? "wperm" : "rperm");
        var groups = a.Groups.Select(g => $"instr({column}, {Param(JsonText(g))}) > 0");
        return $"({string.Join(" OR ", groups.Prepend($"{column} IS NULL"))})";
    }

    /// <summary>
    /// A group's JSON text as the serializer writes it into rperm/wperm: ids, role names and "*" need no escaping, so
    /// they are quoted directly; anything else goes through the serializer.
    /// </summary>
    private static string JsonText(string group) =>
        group.AsSpan().ContainsAnyExcept(PlainGroupChars) ? System.Text.Json.JsonSerializer.Serialize(group, SqliteJson.Options) : "\"" + group + "\"";

    private static readonly System.Buffers.SearchValues<char> PlainGroupChars =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-:*.");

    private string Compare(CompareNode c, string alias)
    {
        var field = c.Field;
        if (c.Op == CompareOp.Ne) return $"NOT COALESCE({Compare(c with { Op = CompareOp.Eq }, alias)}, 0)";
        if (c.Op == CompareOp.Eq && field.IsArray && c.Value is not (NullValue or DocumentValue)) return Contains(field, alias, c.Value);
        var op = c.Op switch { CompareOp.Eq => "=", CompareOp.Lt => "<", CompareOp.Lte => "<=", CompareOp.Gt => ">", _ => ">=" };

        if (field.IsSystemColumn)
        {
            return c.Value switch
            {
                StringValue s when field.IsObjectId => $"{Expr(field, alias)} {op} {Param(s.Value)}",
                DateValue d when !field.IsObjectId => $"{Expr(field, alias)} {op} {Param(d.Iso)}",
                _ => "0",
            };
        }
        return c.Value switch
        {
            NullValue => c.Op == CompareOp.Eq ? $"{Expr(field, alias)} IS NULL" : "0",
            StringValue s when c.Op == CompareOp.Eq && IsPlainText(s.Value) => $"{Expr(field, alias)} = {Param(s.Value)}",
            StringValue s => $"({JsonType(field, alias)} = 'text' AND {Expr(field, alias)} {op} {Param(s.Value)})",
            NumberValue n => $"({JsonType(field, alias)} IN ('integer', 'real') AND {Expr(field, alias)} {op} {Param(n.Value)})",
            BoolValue b when c.Op == CompareOp.Eq => $"{JsonType(field, alias)} = '{(b.Value ? "true" : "false")}'",
            BoolValue b => $"({JsonType(field, alias)} IN ('true', 'false') AND {Expr(field, alias)} {op} {Param(b.Value ? 1 : 0)})",
            DateValue d => $"{Expr(field, alias, ".iso")} {op} {Param(d.Iso)}",
            PointerValue p when c.Op == CompareOp.Eq => PointerEquals(field, alias, p),
            DocumentValue j when c.Op == CompareOp.Eq => $"{Expr(field, alias)} = json({Param(j.Node.ToJsonString(SqliteJson.Options))})",
            _ => "0",
        };
    }

    /// <summary>
    /// Whether equality with this text needs no type guard. json_extract gives a JSON string as its text, numbers
    /// and booleans as numbers (never equal to text: no affinity applies between expressions), and arrays and
    /// objects as their JSON text, which begins with '[' or '{'. So "equals this text" is exact on its own
    /// unless the text could be such JSON; the guard (json_type, a second parse of every visited row) was a third
    /// of a pipeline query's cost.
    /// </summary>
    private static bool IsPlainText(string value) => !(value.StartsWith('[') || value.StartsWith('{'));

    private string PointerEquals(FieldRef field, string alias, PointerValue p)
    {
        var id = $"{Expr(field, alias, ".objectId")} = {Param(p.ObjectId)}";
        // A single-target pointer field's class is fixed by schema validation; check it only when it can vary.
        return field.Definition is { Type: FieldType.Pointer } def && def.TargetClasses.Count == 1
            ? (def.Targets(p.ClassName) ? id : "0")
            : $"({id} AND {Expr(field, alias, ".className")} = {Param(p.ClassName)})";
    }

    /// <summary>"Array contains value" over json_each.</summary>
    private string Contains(FieldRef field, string alias, QueryValue value)
    {
        var each = $"json_each({alias}.data, '{JsonPath(field)}')";
        return value switch
        {
            PointerValue p => $"EXISTS (SELECT 1 FROM {each} je WHERE json_extract(je.value, '$.objectId') = {Param(p.ObjectId)} AND json_extract(je.value, '$.className') = {Param(p.ClassName)})",
            DateValue d => $"EXISTS (SELECT 1 FROM {each} je WHERE json_extract(je.value, '$.iso') = {Param(d.Iso)})",
            StringValue s => $"EXISTS (SELECT 1 FROM {each} je WHERE je.type = 'text' AND je.value = {Param(s.Value)})",
            NumberValue n => $"EXISTS (SELECT 1 FROM {each} je WHERE je.type IN ('integer', 'real') AND je.value = {Param(n.Value)})",
            BoolValue b => $"EXISTS (SELECT 1 FROM {each} je WHERE je.type = '{(b.Value ? "true" : "false")}')",
            NullValue => $"EXISTS (SELECT 1 FROM {each} je WHERE je.type = 'null')",
            DocumentValue j => $"EXISTS (SELECT 1 FROM {each} je WHERE je.value = json({Param(j.Node.ToJsonString(SqliteJson.Options))}))",
            _ => "0",
        };
    }

    private string In(InNode node, string alias)
    {
        var field = node.Field;
        var parts = new List<string>();
        if (field.IsObjectId)
        {
            var ids = node.Values.OfType<StringValue>().Select(s => (JsonNode)s.Value);
            parts.Add($"{alias}.id IN (SELECT value FROM json_each({ListParam(ids)}))");
        }
        else if (field.IsSystemColumn)
        {
            var dates = node.Values.OfType<DateValue>().Select(d => (JsonNode)d.Iso);
            parts.Add($"{Expr(field, alias)} IN (SELECT value FROM json_each({ListParam(dates)}))");
        }
        else if (field.IsArray)
        {
            parts.AddRange(node.Values.Select(v => Contains(field, alias, v)));
        }
        else
        {
            var strings = node.Values.OfType<StringValue>().ToList();
            if (strings.Count > 0)
            {
                var test = $"{Expr(field, alias)} IN (SELECT value FROM json_each({ListParam(strings.Select(s => (JsonNode)s.Value))}))";
                parts.Add(strings.All(s => IsPlainText(s.Value)) ? test : $"({JsonType(field, alias)} = 'text' AND {test})");
            }
            var numbers = node.Values.OfType<NumberValue>().ToList();
            if (numbers.Count > 0)
                parts.Add($"({JsonType(field, alias)} IN ('integer', 'real') AND {Expr(field, alias)} IN (SELECT value FROM json_each({ListParam(numbers.Select(n => (JsonNode)n.Value))})))");
            var dates = node.Values.OfType<DateValue>().ToList();
            if (dates.Count > 0)
                parts.Add($"{Expr(field, alias, ".iso")} IN (SELECT value FROM json_each({ListParam(dates.Select(d => (JsonNode)d.Iso))}))");
            foreach (var group in node.Values.OfType<PointerValue>().GroupBy(p => p.ClassName))
            {
                var ids = $"{Expr(field, alias, ".objectId")} IN (SELECT value FROM json_each({ListParam(group.Select(p => (JsonNode)p.ObjectId))}))";
                parts.Add(field.Definition is { Type: FieldType.Pointer } def && def.TargetClasses.Count == 1
                    ? (def.Targets(group.Key) ? ids : "0")
                    : $"({ids} AND {Expr(field, alias, ".className")} = {Param(group.Key)})");
            }
            parts.AddRange(node.Values.Where(v => v is NullValue or BoolValue or DocumentValue)
                .Select(v => Compare(new CompareNode(field, CompareOp.Eq, v), alias)));
        }
        var any = parts.Count == 0 ? "0" : "(" + string.Join(" OR ", parts) + ")";
        return node.Negate ? $"NOT COALESCE({any}, 0)" : any;
    }

    private string Regex(RegexNode r, string alias)
    {
        if (r.Field.IsArray)
        {
            // Mongo semantics, which Parse inherits: a regex on an array matches when any string element does.
            return $"EXISTS (SELECT 1 FROM json_each({alias}.data, '{JsonPath(r.Field)}') je WHERE je.type = 'text' AND crm_regex({Param(r.Pattern)}, {Param(r.Options)}, je.value))";
        }
        var guard = r.Field.IsSystemColumn ? "1" : $"{JsonType(r.Field, alias)} = 'text'";
        var expr = Expr(r.Field, alias);
        if (ParseRegex.LiteralPrefix(r.Pattern, r.Options) is { } prefix)
        {
            // startsWith: an index range instead of a regex over every row.
            return $"({guard} AND {expr} >= {Param(prefix)} AND {expr} < {Param(prefix + "\U0010FFFF")})";
        }
        return $"({guard} AND crm_regex({Param(r.Pattern)}, {Param(r.Options)}, {expr}))";
    }

    private string InQuery(InQueryNode q, string alias, string className)
    {
        var sub = NewAlias();
        var subSql = $"SELECT {sub}.id FROM {Table(q.ClassName)} {sub} WHERE {Where(q.Where, sub, q.ClassName)}";
        string sql;
        if (q.Field.IsRelation)
            sql = $"EXISTS (SELECT 1 FROM \"_relations\" r WHERE r.owner_class = {Param(className)} AND r.field = {Param(q.Field.Name)} AND r.owner_id = {alias}.id AND r.related_id IN ({subSql}))";
        else if (q.Field.IsArray)
            sql = $"EXISTS (SELECT 1 FROM json_each({alias}.data, '{JsonPath(q.Field)}') je WHERE json_extract(je.value, '$.className') = {Param(q.ClassName)} AND json_extract(je.value, '$.objectId') IN ({subSql}))";
        else
            sql = $"({Expr(q.Field, alias, ".className")} = {Param(q.ClassName)} AND {Expr(q.Field, alias, ".objectId")} IN ({subSql}))";
        return q.Negate ? $"NOT COALESCE({sql}, 0)" : sql;
    }

    private string RelatedTo(RelatedToNode r, string alias)
    {
        var sql = $"{alias}.id IN (SELECT related_id FROM \"_relations\" WHERE owner_class = {Param(r.OwnerClass)} AND field = {Param(r.Key)} AND owner_id = {Param(r.OwnerId)})";
        if (r.OwnerWhere is null) return sql;
        var owner = NewAlias();
        return $"({sql} AND EXISTS (SELECT 1 FROM {Table(r.OwnerClass)} {owner} WHERE {Where(r.OwnerWhere, owner, r.OwnerClass)}))";
    }

    private string Select(SelectNode s, string alias)
    {
        var sub = NewAlias();
        var sql = $"{Expr(s.Field, alias)} IN (SELECT {Expr(s.Key, sub)} FROM {Table(s.ClassName)} {sub} WHERE {Where(s.Where, sub, s.ClassName)})";
        return s.Negate ? $"NOT COALESCE({sql}, 0)" : sql;
    }

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

    public static string OrderBy(IReadOnlyList<SortKey> order, string alias)
    {
        if (order.Count == 0) return "";
        var sb = new StringBuilder(" ORDER BY ");
        sb.AppendJoin(", ", order.Select(k => (k.Field.IsScore ? ScoreColumn : SortExpr(k.Field, alias)) + (k.Descending ? " DESC" : "")));
        return sb.ToString();
    }
}

internal static class SqliteJson
{
    /// <summary>Relaxed escaping keeps stored text identical to what SQLite's JSON functions render.</summary>
    public static readonly System.Text.Json.JsonSerializerOptions Options = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
