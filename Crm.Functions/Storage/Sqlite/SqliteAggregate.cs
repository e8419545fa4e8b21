using System.Text;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Store;

namespace Crm.Functions.Storage.Sqlite;

/// <summary>
/// An <see cref="AggregateQuery"/> as one SQLite statement: <c>GROUP BY</c> over the key expressions, SQL aggregates,
/// <c>ORDER BY</c>/<c>LIMIT</c>/<c>OFFSET</c> on the groups. Key parts and Min/Max come back as JSON text (<c>-&gt;</c>
/// and <c>json_quote</c>) so that strings, numbers and objects keep their type; field paths are literals exactly as in
/// <see cref="SqliteQueryTranslator"/> (validated names only) and every value is a parameter.
/// </summary>
internal static class SqliteAggregate
{
    public static string Sql(AggregateQuery query, SqliteQueryTranslator translator)
    {
        var alias = translator.NewAlias();
        var columns = new List<string>();
        var keys = new List<string>();
        for (var i = 0; i < query.Key.Count; i++)
        {
            columns.Add($"{Key(query.Key[i], alias)} AS k{i}");
            keys.Add("k" + i);
        }
        for (var i = 0; i < query.Accumulators.Count; i++) columns.Add($"{Accumulate(query.Accumulators[i], alias)} AS a{i}");

        var sql = new StringBuilder("SELECT ").AppendJoin(", ", columns)
            .Append(" FROM ").Append(SqliteQueryTranslator.Table(query.ClassName)).Append(' ').Append(alias)
            .Append(" WHERE ").Append(translator.Where(query.Where, alias, query.ClassName));
        if (keys.Count > 0) sql.Append(" GROUP BY ").AppendJoin(", ", keys);
        if (query.Order.Count > 0)
            sql.Append(" ORDER BY ").AppendJoin(", ", query.Order.Select(o => (o.KeyIndex is { } k ? "k" + k : "a" + o.AccumulatorIndex) + (o.Descending ? " DESC" : "")));
        sql.Append(SqliteQueryTranslator.LimitOffset(query.Limit, query.Skip, translator));
        return sql.ToString();
    }

    /// <summary>A key part as JSON text: a field's value (pointer id, date ISO text), or a date part as a number.</summary>
    private static string Key(GroupKeyPart part, string alias)
    {
        if (part.Part is { } datePart) return $"CAST(strftime('{Format(datePart)}', {IsoText(part.Field, alias)}) AS INTEGER)";
        if (part.Field.IsSystemColumn) return $"json_quote({SqliteQueryTranslator.Expr(part.Field, alias)})";
        return $"({alias}.data -> '{SqliteQueryTranslator.JsonPath(part.Field)}{Suffix(part.Field)}')";
    }

    private static string Accumulate(Accumulator accumulator, string alias)
    {
        if (accumulator.Op == AggregateOp.Count) return "COUNT(*)";
        var field = accumulator.Field!;
        if (accumulator.Op is AggregateOp.Min or AggregateOp.Max)
        {
            // Missing and null values take no part, as in Mongo's $min/$max.
            var value = SqliteQueryTranslator.SortExpr(field, alias);
            return $"json_quote({(accumulator.Op == AggregateOp.Min ? "MIN" : "MAX")}({value}))";
        }
        // $sum and $avg take numbers only; TOTAL is 0.0 over none, AVG null.
        var number = field.IsSystemColumn ? "NULL"
            : $"CASE WHEN json_type({alias}.data, '{SqliteQueryTranslator.JsonPath(field)}') IN ('integer', 'real') THEN json_extract({alias}.data, '{SqliteQueryTranslator.JsonPath(field)}') END";
        return accumulator.Op == AggregateOp.Sum ? $"TOTAL({number})" : $"AVG({number})";
    }

    private static string IsoText(FieldRef field, string alias) =>
        field.IsSystemColumn ? SqliteQueryTranslator.Expr(field, alias) : SqliteQueryTranslator.Expr(field, alias, ".iso");

    private static string Suffix(FieldRef field) => field.Path.Count > 0 ? "" : field.Definition?.Type switch
    {
        FieldType.Date => ".iso",
        FieldType.Pointer => ".objectId",
        _ => "",
    };

    private static string Format(DatePart part) => part switch
    {
        DatePart.Year => "%Y",
        DatePart.Month => "%m",
        DatePart.DayOfMonth => "%d",
        DatePart.Hour => "%H",
        DatePart.Minute => "%M",
        _ => "%S",
    };
}
