using Crm.Functions.Core;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Security;
using Crm.Functions.Storage.Sqlite;

namespace Crm.Functions.Benchmarks;

/// <summary>
/// The CPU work of the pipeline query before SQLite runs: where JSON → QueryNode (with the caller's read
/// restriction), and QueryNode → SQL text and parameters, as SqliteObjectStore.FindAsync builds them.
/// </summary>
[MemoryDiagnoser]
public class QueryBenchmarks
{
    private readonly WhereParser _parser = new(new LimitSettings());
    private readonly Auth _user = Fixtures.User;
    private readonly UserScope _scope = new(Fixtures.User);
    private readonly JsonNode _where = JsonNode.Parse("""{"stage":"proposal"}""")!;
    private readonly IReadOnlyList<SortKey> _order = [new SortKey(WhereParser.ResolveField("expectedCloseDate", Fixtures.Deal), false)];
    private QueryNode _parsed = QueryNode.True;

    [GlobalSetup]
    public void Setup() => _parsed = Parse();

    [Benchmark]
    public object ParseWhere() => Parse();

    [Benchmark]
    public string TranslateToSql() => Translate(_parsed);

    [Benchmark]
    public string ParseAndTranslate() => Translate(Parse());

    [Benchmark]
    public object ReadRestriction() => AccessPolicy.ReadRestriction(_user, Fixtures.Deal, AccessPolicy.Find);

    private QueryNode Parse() =>
        QueryNode.And(_parser.Parse(_where, Fixtures.Deal, _scope), AccessPolicy.ReadRestriction(_user, Fixtures.Deal, AccessPolicy.Find));

    private string Translate(QueryNode where)
    {
        var translator = new SqliteQueryTranslator();
        var alias = translator.NewAlias();
        return $"SELECT {alias}.id FROM {SqliteQueryTranslator.Table("Deal")} {alias} WHERE {translator.Where(where, alias, "Deal")}"
               + SqliteQueryTranslator.OrderBy(_order, alias) + $" LIMIT {translator.Param(50)} OFFSET {translator.Param(0)}";
    }
}
