using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Surface;

/// <summary>GET /aggregate/{className}: pipelines and distinct, run by the store (SQL GROUP BY on SQLite, a projected fold on Cosmos).</summary>
public sealed class AggregateTests(CrmServerFixture fixture) : IClassFixture<CrmServerFixture>
{
    private CrmServer Server => fixture.Server;

    private static string Date(int day, int hour = 12) => $"2030-0{(day > 28 ? 2 : 1)}-{(day > 28 ? day - 28 : day):D2}T{hour:D2}:00:00.000Z";

    /// <summary>A class of deals: stage, amount, a company pointer, a close date; one with no stage and no amount.</summary>
    private async Task<(string ClassName, ParseClient Master, string[] Companies)> DealsAsync()
    {
        var master = Server.Client().AsMaster();
        var cls = Wire.Unique("Agg");
        var companyClass = Wire.Unique("AggCo");
        var companies = new[] { await master.CreateAsync(companyClass, new { name = "Acme" }), await master.CreateAsync(companyClass, new { name = "Globex" }) };
        JsonObject Deal(string? stage, double? amount, int company, int day)
        {
            var deal = new JsonObject
            {
                ["company"] = new JsonObject { ["__type"] = "Pointer", ["className"] = companyClass, ["objectId"] = companies[company] },
                ["closeDate"] = new JsonObject { ["__type"] = "Date", ["iso"] = Date(day) },
            };
            if (stage is not null) deal["stage"] = stage;
            if (amount is not null) deal["amount"] = amount;
            return deal;
        }
        foreach (var deal in new[]
                 {
                     Deal("won", 100, 0, 3), Deal("won", 250, 1, 4), Deal("won", 50.5, 0, 30),
                     Deal("lead", 10, 1, 5), Deal("lead", 20, 1, 31), Deal(null, null, 0, 6),
                 })
            await master.CreateAsync(cls, deal);
        return (cls, master, companies);
    }

    private static async Task<JsonArray> Aggregate(ParseClient client, string cls, string pipeline)
    {
        var response = await client.GetAsync($"aggregate/{cls}?pipeline={Uri.EscapeDataString(pipeline)}");
        return response.EnsureStatus(HttpStatusCode.OK).Results;
    }

    [Fact]
    public async Task group_by_a_field_sums_averages_counts_and_takes_min_and_max_sorted_by_an_output()
    {
        var (cls, master, _) = await DealsAsync();
        using var _m = master;
        var results = await Aggregate(master, cls,
            """[{"$group":{"_id":"$stage","total":{"$sum":"$amount"},"avg":{"$avg":"$amount"},"n":{"$sum":1},"c":{"$count":{}},"low":{"$min":"$amount"},"high":{"$max":"$amount"},"first":{"$min":"$closeDate"}}},{"$sort":{"total":-1}}]""");
        Assert.Equal(3, results.Count);
        var won = results[0]!;
        Assert.Equal("won", won["objectId"]!.GetValue<string>());
        Assert.Equal(400.5, won["total"]!.GetValue<double>());
        Assert.Equal(133.5, won["avg"]!.GetValue<double>());
        Assert.Equal(3, won["n"]!.GetValue<int>());
        Assert.Equal(3, won["c"]!.GetValue<int>());
        Assert.Equal(50.5, won["low"]!.GetValue<double>());
        Assert.Equal(250, won["high"]!.GetValue<double>());
        Assert.Equal(Date(3), won["first"]!["iso"]!.GetValue<string>());
        Assert.Equal("Date", won["first"]!["__type"]!.GetValue<string>());
        var lead = results[1]!;
        Assert.Equal("lead", lead["objectId"]!.GetValue<string>());
        Assert.Equal("30", lead["total"]!.ToJsonString());
        // The deal with no stage groups under null, with a sum of no numbers (0) and no average.
        var none = results[2]!;
        Assert.Null(none["objectId"]);
        Assert.Equal(0, none["total"]!.GetValue<int>());
        Assert.Null(none["avg"]);
        Assert.Equal(1, none["n"]!.GetValue<int>());
    }

    [Fact]
    public async Task match_with_storage_names_then_group_by_null_and_by_pointer()
    {
        var (cls, master, companies) = await DealsAsync();
        using var _m = master;
        var all = await Aggregate(master, cls, """[{"$match":{"amount":{"$gt":15}}},{"$group":{"_id":null,"total":{"$sum":"$amount"}}}]""");
        Assert.Equal("""[{"objectId":null,"total":420.5}]""", all.ToJsonString());

        var byCompany = await Aggregate(master, cls, """[{"$match":{"stage":"won"}},{"$group":{"_id":"$_p_company","total":{"$sum":"$amount"}}},{"$sort":{"_id":1}}]""");
        var expected = new[] { (companies[0], 150.5), (companies[1], 250.0) }.OrderBy(c => c.Item1, StringComparer.Ordinal).ToList();
        Assert.Equal(expected.Select(e => e.Item1), byCompany.Select(r => r!["objectId"]!.GetValue<string>()));
        Assert.Equal(expected.Select(e => e.Item2), byCompany.Select(r => r!["total"]!.GetValue<double>()));

        // _p_company with Parse's stored "Class$id" form, _created_at as a storage name: the same objects.
        var companyClass = (await master.QueryAsync(cls)).Results[0]!["company"]!["className"]!.GetValue<string>();
        var counted = await Aggregate(master, cls,
            "[{\"$match\":{\"_p_company\":\"" + companyClass + "$" + companies[1] + "\",\"_created_at\":{\"$lte\":{\"__type\":\"Date\",\"iso\":\"2100-01-01T00:00:00.000Z\"}}}},{\"$count\":\"deals\"}]");
        Assert.Equal("""[{"deals":3}]""", counted.ToJsonString());

        // A group of nothing answers nothing, as Mongo.
        Assert.Empty(await Aggregate(master, cls, """[{"$match":{"stage":"lost"}},{"$group":{"_id":null,"n":{"$sum":1}}}]"""));
    }

    [Fact]
    public async Task group_by_date_parts_and_compound_keys_then_skip_limit_project_and_count()
    {
        var (cls, master, _) = await DealsAsync();
        using var _m = master;
        var byMonth = await Aggregate(master, cls, """[{"$group":{"_id":{"month":{"$month":"$closeDate"},"stage":"$stage"},"n":{"$sum":1}}},{"$sort":{"_id.month":1,"n":-1}}]""");
        Assert.Equal(
            """[{"objectId":{"month":1,"stage":"won"},"n":2},{"objectId":{"month":1,"stage":"lead"},"n":1},{"objectId":{"month":1,"stage":null},"n":1},{"objectId":{"month":2,"stage":"lead"},"n":1},{"objectId":{"month":2,"stage":"won"},"n":1}]""".Length,
            byMonth.ToJsonString().Length);
        Assert.Equal([1, 1, 1, 2, 2], byMonth.Select(r => r!["objectId"]!["month"]!.GetValue<int>()));
        Assert.Equal("won", byMonth[0]!["objectId"]!["stage"]!.GetValue<string>());

        var byYear = await Aggregate(master, cls, """[{"$group":{"_id":{"$year":"$_created_at"},"n":{"$sum":1}}}]""");
        Assert.Equal(DateTime.UtcNow.Year, byYear.Single()!["objectId"]!.GetValue<int>());
        Assert.Equal(6, byYear.Single()!["n"]!.GetValue<int>());

        var paged = await Aggregate(master, cls, """[{"$group":{"_id":"$stage","total":{"$sum":"$amount"}}},{"$sort":{"total":1}},{"$skip":1},{"$limit":1},{"$project":{"total":1}}]""");
        Assert.Equal("""[{"objectId":"lead","total":30}]""", paged.ToJsonString());
        Assert.Equal("""[{"stages":3}]""", (await Aggregate(master, cls, """[{"$group":{"_id":"$stage"}},{"$count":"stages"}]""")).ToJsonString());
    }

    [Fact]
    public async Task a_pipeline_without_group_is_a_find_with_sort_skip_limit_and_project()
    {
        var (cls, master, _) = await DealsAsync();
        using var _m = master;
        var rows = await Aggregate(master, cls, """[{"$match":{"stage":"won"}},{"$sort":{"amount":-1}},{"$skip":1},{"$limit":5},{"$project":{"amount":1}}]""");
        Assert.Equal([100.0, 50.5], rows.Select(r => r!["amount"]!.GetValue<double>()));
        Assert.All(rows, r => Assert.Equal(["amount", "objectId"], r!.AsObject().Select(p => p.Key).Order()));
        // The object form of a pipeline (stages as keys) is accepted too.
        var counted = await master.GetAsync($"aggregate/{cls}?pipeline={Uri.EscapeDataString("""{"$match":{"stage":"lead"},"$count":"n"}""")}");
        Assert.Equal("""[{"n":2}]""", counted.EnsureStatus(HttpStatusCode.OK).Results.ToJsonString());
    }

    [Fact]
    public async Task distinct_answers_each_value_once_without_nulls_pointers_as_pointers_and_honours_where()
    {
        var (cls, master, companies) = await DealsAsync();
        using var _m = master;
        var stages = (await master.GetAsync($"aggregate/{cls}?distinct=stage")).EnsureStatus(HttpStatusCode.OK).Results;
        Assert.Equal(["lead", "won"], stages.Select(s => s!.GetValue<string>()).Order());
        var where = Uri.EscapeDataString("""{"amount":{"$gt":60}}""");
        var big = (await master.GetAsync($"aggregate/{cls}?distinct=company&where={where}")).EnsureStatus(HttpStatusCode.OK).Results;
        Assert.Equal(companies.Order(), big.Select(p => p!["objectId"]!.GetValue<string>()).Order());
        Assert.All(big, p => Assert.Equal("Pointer", p!["__type"]!.GetValue<string>()));
        var dates = (await master.GetAsync($"aggregate/{cls}?distinct=closeDate&where={Uri.EscapeDataString("""{"stage":"lead"}""")}")).Results;
        Assert.Equal([Date(5), Date(31)], dates.Select(d => d!["iso"]!.GetValue<string>()).Order());
    }

    [Fact]
    public async Task only_the_master_key_aggregates()
    {
        var (cls, master, _) = await DealsAsync();
        using var _m = master;
        var (user, _, _) = await Server.UserAsync();
        using (user)
        {
            foreach (var response in new[]
                     {
                         await user.GetAsync($"aggregate/{cls}?distinct=stage"),
                         await Server.Client().GetAsync($"aggregate/{cls}?pipeline=[]"),
                     })
            {
                response.EnsureStatus(HttpStatusCode.Forbidden);
                Assert.Equal(119, response.Code);
            }
        }
    }

    /// <summary>Field names reach the stores' query text: anything but a field of the class is a 102, and nothing runs.</summary>
    [Theory]
    [InlineData("""[{"$group":{"_id":"$stage') FROM x; --"}}]""")]
    [InlineData("""[{"$group":{"_id":"$stage\"]) OR 1=1 --"}}]""")]
    [InlineData("""[{"$group":{"_id":"$amount","t":{"$sum":"$amount'||(SELECT 1)||'"}}}]""")]
    [InlineData("""[{"$group":{"_id":{"$year":"$closeDate.iso') --"}}}]""")]
    [InlineData("""[{"$group":{"_id":"$meta.a'b"}}]""")]
    [InlineData("""[{"$group":{"_id":"$nosuchfield"}}]""")]
    [InlineData("""[{"$group":{"_id":"$ACL"}}]""")]
    [InlineData("""[{"$group":{"_id":"$stage","x y":{"$sum":1}}}]""")]
    [InlineData("""[{"$group":{"_id":"$stage"}},{"$sort":{"stage') --":1}}]""")]
    [InlineData("""[{"$sort":{"amount; DROP TABLE x":1}}]""")]
    [InlineData("""[{"$project":{"amount')":1}}]""")]
    [InlineData("""[{"$group":{"amount":{"$sum":1}}}]""")]
    [InlineData("""[{"$group":{"_id":null,"objectId":{"$sum":1}}}]""")]
    [InlineData("""[{"$unwind":"$tags"}]""")]
    [InlineData("""[{"$lookup":{"from":"_User"}}]""")]
    [InlineData("""[{"$group":{"_id":"$stage"}},{"$match":{"n":1}}]""")]
    [InlineData("""[{"$group":{"_id":"$stage","t":{"$push":"$amount"}}}]""")]
    [InlineData("""[{"match":{}}]""")]
    [InlineData("""[{"$match":{},"$limit":1}]""")]
    [InlineData("""[{"$limit":-1}]""")]
    [InlineData("""{"$group":{"_id":{"$where":"sleep(1000)"}}}""")]
    public async Task hostile_or_unsupported_pipelines_are_a_parse_102(string pipeline)
    {
        var (cls, master, _) = await DealsAsync();
        using var _m = master;
        var response = await master.GetAsync($"aggregate/{cls}?pipeline={Uri.EscapeDataString(pipeline)}");
        response.EnsureError(102);
        Assert.Equal(6, await master.CountAsync(cls));
    }

    [Theory]
    [InlineData("distinct=stage')%20--")]
    [InlineData("distinct=nosuchfield")]
    [InlineData("distinct=")]
    public async Task hostile_distinct_fields_are_a_parse_102(string query)
    {
        var (cls, master, _) = await DealsAsync();
        using var _m = master;
        (await master.GetAsync($"aggregate/{cls}?{query}")).EnsureError(102);
    }

    [Fact]
    public async Task bad_json_and_unknown_classes_are_parse_errors()
    {
        using var master = Server.Client().AsMaster();
        (await master.GetAsync("aggregate/NoSuchAggClass?pipeline=[]")).EnsureError(103);
        (await master.GetAsync("aggregate/_GlobalConfig?pipeline=[]")).EnsureError(103);
        var (cls, m2, _) = await DealsAsync();
        using var _m = m2;
        (await master.GetAsync($"aggregate/{cls}?pipeline={Uri.EscapeDataString("[{")}")).EnsureError(107);
    }
}
