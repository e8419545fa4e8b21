using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests;

public sealed class QueryTests(CrmServerFixture fixture) : IClassFixture<CrmServerFixture>
{
    private CrmServer Server => fixture.Server;

    /// <summary>Four deals over two companies; titles (not ids) are what tests compare.</summary>
    private sealed record Pipeline(string Deals, string Companies, string Acme, string Beta);

    private static async Task<Pipeline> SeedAsync(ParseClient client)
    {
        var deals = Wire.Unique("Deal");
        var companies = Wire.Unique("Company");
        var acme = await client.CreateAsync(companies, new { name = "Acme", industry = "retail" });
        var beta = await client.CreateAsync(companies, new { name = "Beta", industry = "bank" });
        await client.CreateAsync(deals, new JsonObject
        {
            ["title"] = "Acme renewal", ["amount"] = 100, ["stage"] = "lead", ["tags"] = new JsonArray("vip", "eu"),
            ["company"] = Wire.PointerTo(companies, acme), ["companyName"] = "Acme", ["close"] = Wire.Date("2024-01-10T00:00:00.000Z"),
        });
        await client.CreateAsync(deals, new JsonObject
        {
            ["title"] = "Beta deal", ["amount"] = 200, ["stage"] = "won", ["tags"] = new JsonArray("eu"),
            ["company"] = Wire.PointerTo(companies, beta), ["companyName"] = "Beta", ["close"] = Wire.Date("2024-02-10T00:00:00.000Z"),
        });
        await client.CreateAsync(deals, new JsonObject
        {
            ["title"] = "acme expansion", ["amount"] = 300, ["stage"] = "lost", ["tags"] = new JsonArray(),
            ["company"] = Wire.PointerTo(companies, acme), ["companyName"] = "Acme", ["notes"] = "call back",
        });
        await client.CreateAsync(deals, new JsonObject { ["title"] = "Gamma (a.b) [x]*", ["amount"] = 300, ["stage"] = "won", ["companyName"] = "Gamma" });
        return new Pipeline(deals, companies, acme, beta);
    }

    private static async Task<List<string>> TitlesAsync(ParseClient client, string cls, JsonNode? where, string? extra = null)
    {
        var response = await client.QueryAsync(cls, where, extra);
        response.EnsureStatus(HttpStatusCode.OK);
        return response.Results.Select(r => r!["title"]!.GetValue<string>()).ToList();
    }

    private static async Task AssertTitlesAsync(ParseClient client, string cls, JsonNode where, params string[] expected) =>
        Assert.Equal(expected.Order(StringComparer.Ordinal), (await TitlesAsync(client, cls, where)).Order(StringComparer.Ordinal));

    private static JsonObject Op(string op, JsonNode? value) => new() { [op] = value };

    [Fact]
    public async Task comparison_operators_filter_numbers()
    {
        using var client = Server.Client().AsMaster();
        var p = await SeedAsync(client);
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["amount"] = Op("$lt", 200) }, "Acme renewal");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["amount"] = Op("$lte", 200) }, "Acme renewal", "Beta deal");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["amount"] = Op("$gt", 200) }, "acme expansion", "Gamma (a.b) [x]*");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["amount"] = Op("$gte", 200) }, "Beta deal", "acme expansion", "Gamma (a.b) [x]*");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["amount"] = new JsonObject { ["$gt"] = 100, ["$lt"] = 300 } }, "Beta deal");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["amount"] = 300 }, "acme expansion", "Gamma (a.b) [x]*");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["amount"] = Op("$eq", 100) }, "Acme renewal");
    }

    [Fact]
    public async Task comparison_operators_filter_dates_and_createdAt()
    {
        using var client = Server.Client().AsMaster();
        var p = await SeedAsync(client);
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["close"] = Op("$gt", Wire.Date("2024-01-15T00:00:00.000Z")) }, "Beta deal");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["close"] = Op("$lte", Wire.Date("2024-02-10T00:00:00.000Z")) }, "Acme renewal", "Beta deal");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["close"] = Wire.Date("2024-01-10T00:00:00.000Z") }, "Acme renewal");
        Assert.Equal(4, (await TitlesAsync(client, p.Deals, new JsonObject { ["createdAt"] = Op("$gt", Wire.Date("2020-01-01T00:00:00.000Z")) })).Count);
        Assert.Empty(await TitlesAsync(client, p.Deals, new JsonObject { ["createdAt"] = Op("$lt", Wire.Date("2020-01-01T00:00:00.000Z")) }));
        Assert.Equal(4, (await TitlesAsync(client, p.Deals, new JsonObject { ["updatedAt"] = Op("$lte", new JsonObject { ["$relativeTime"] = "now" }) })).Count);
    }

    [Fact]
    public async Task objectId_and_timestamps_are_queryable_like_fields()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Ids");
        var a = await client.CreateAsync(cls, new { title = "a" });
        var b = await client.CreateAsync(cls, new { title = "b" });
        await client.CreateAsync(cls, new { title = "c" });
        await AssertTitlesAsync(client, cls, new JsonObject { ["objectId"] = a }, "a");
        await AssertTitlesAsync(client, cls, new JsonObject { ["objectId"] = Op("$in", new JsonArray(a, b, "zzzzzzzzzz")) }, "a", "b");
        await AssertTitlesAsync(client, cls, new JsonObject { ["objectId"] = Op("$nin", new JsonArray(a)) }, "b", "c");
        await AssertTitlesAsync(client, cls, new JsonObject { ["objectId"] = Op("$ne", a) }, "b", "c");
        var createdA = (await client.GetAsync($"classes/{cls}/{a}")).Json!["createdAt"]!.GetValue<string>();
        await AssertTitlesAsync(client, cls, new JsonObject { ["createdAt"] = Wire.Date(createdA), ["title"] = "a" }, "a");
        await AssertTitlesAsync(client, cls, new JsonObject { ["createdAt"] = Op("$in", new JsonArray(Wire.Date(createdA))), ["title"] = "a" }, "a");
        await AssertTitlesAsync(client, cls, new JsonObject { ["createdAt"] = Op("$gte", createdA), ["title"] = "a" }, "a");
    }

    [Fact]
    public async Task ne_matches_missing_fields_and_on_arrays_means_does_not_contain()
    {
        using var client = Server.Client().AsMaster();
        var p = await SeedAsync(client);
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["stage"] = Op("$ne", "won") }, "Acme renewal", "acme expansion");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["notes"] = Op("$ne", "call back") }, "Acme renewal", "Beta deal", "Gamma (a.b) [x]*");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["tags"] = Op("$ne", "vip") }, "Beta deal", "acme expansion", "Gamma (a.b) [x]*");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["notes"] = Op("$ne", null) }, "acme expansion");
    }

    [Fact]
    public async Task in_and_nin_on_scalars_arrays_and_pointers()
    {
        using var client = Server.Client().AsMaster();
        var p = await SeedAsync(client);
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["stage"] = Op("$in", new JsonArray("won", "lead")) }, "Acme renewal", "Beta deal", "Gamma (a.b) [x]*");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["stage"] = Op("$nin", new JsonArray("won", "lead")) }, "acme expansion");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["amount"] = Op("$in", new JsonArray(100, 300)) }, "Acme renewal", "acme expansion", "Gamma (a.b) [x]*");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["tags"] = Op("$in", new JsonArray("vip", "nope")) }, "Acme renewal");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["company"] = Op("$in", new JsonArray(Wire.PointerTo(p.Companies, p.Beta))) }, "Beta deal");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["company"] = Op("$nin", new JsonArray(Wire.PointerTo(p.Companies, p.Acme))) }, "Beta deal", "Gamma (a.b) [x]*");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["stage"] = Op("$in", new JsonArray()) });
        (await client.QueryAsync(p.Deals, new JsonObject { ["stage"] = Op("$in", "won") })).EnsureError(107);
    }

    [Fact]
    public async Task exists_selects_present_or_absent_keys()
    {
        using var client = Server.Client().AsMaster();
        var p = await SeedAsync(client);
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["notes"] = Op("$exists", true) }, "acme expansion");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["tags"] = Op("$exists", false) }, "Gamma (a.b) [x]*");
        (await client.QueryAsync(p.Deals, new JsonObject { ["notes"] = Op("$exists", "yes") })).EnsureError(107);
    }

    [Fact]
    public async Task regex_with_options_and_the_js_sdk_quoting()
    {
        using var client = Server.Client().AsMaster();
        var p = await SeedAsync(client);
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["title"] = Op("$regex", "^Acme") }, "Acme renewal");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["title"] = new JsonObject { ["$regex"] = "^acme", ["$options"] = "i" } }, "Acme renewal", "acme expansion");
        // JS SDK: startsWith → ^\Q…\E, endsWith → \Q…\E$, contains → \Q…\E; regex metacharacters inside are literal.
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["title"] = Op("$regex", @"^\QGamma (a.b)\E") }, "Gamma (a.b) [x]*");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["title"] = Op("$regex", @"\Q[x]*\E$") }, "Gamma (a.b) [x]*");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["title"] = Op("$regex", @"\Q(a.b)\E") }, "Gamma (a.b) [x]*");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["title"] = Op("$regex", @"\Qa.b\E") }, "Gamma (a.b) [x]*");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["title"] = Op("$regex", @"^\Qacme\E") }, "acme expansion");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["title"] = new JsonObject { ["$regex"] = @"^\QACME\E", ["$options"] = "i" } }, "Acme renewal", "acme expansion");
        // A regex on a non-string field matches nothing rather than failing.
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["amount"] = Op("$regex", "1") });
        (await client.QueryAsync(p.Deals, new JsonObject { ["title"] = new JsonObject { ["$regex"] = "a", ["$options"] = "g" } })).EnsureError(102);
        (await client.QueryAsync(p.Deals, new JsonObject { ["title"] = Op("$regex", "(unclosed") })).EnsureError(102);
    }

    [Fact]
    public async Task all_and_containedBy_on_arrays()
    {
        using var client = Server.Client().AsMaster();
        var p = await SeedAsync(client);
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["tags"] = Op("$all", new JsonArray("eu", "vip")) }, "Acme renewal");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["tags"] = Op("$all", new JsonArray("eu")) }, "Acme renewal", "Beta deal");
        // Mongo semantics ($not $elemMatch $nin): an empty or missing array is contained by any list.
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["tags"] = Op("$containedBy", new JsonArray("eu", "us")) }, "Beta deal", "acme expansion", "Gamma (a.b) [x]*");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["tags"] = Op("$containedBy", new JsonArray("eu", "vip")) }, "Acme renewal", "Beta deal", "acme expansion", "Gamma (a.b) [x]*");
        (await client.QueryAsync(p.Deals, new JsonObject { ["tags"] = Op("$all", "eu") })).EnsureError(107);
    }

    [Fact]
    public async Task all_with_regex_elements_is_the_js_sdk_contains_all_starting_with()
    {
        using var client = Server.Client().AsMaster();
        var p = await SeedAsync(client);
        static JsonObject StartsWith(string s) => new() { ["$regex"] = $@"^\Q{s}\E" };
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["tags"] = Op("$all", new JsonArray(StartsWith("v"), StartsWith("e"))) }, "Acme renewal");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["tags"] = Op("$all", new JsonArray(StartsWith("e"))) }, "Acme renewal", "Beta deal");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["tags"] = Op("$all", new JsonArray(StartsWith("u"))) });
        (await client.QueryAsync(p.Deals, new JsonObject { ["tags"] = Op("$all", new JsonArray(StartsWith("e"), "vip")) })).EnsureError(107);
    }

    [Fact]
    public async Task regex_on_an_array_field_matches_when_any_element_matches()
    {
        using var client = Server.Client().AsMaster();
        var p = await SeedAsync(client);
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["tags"] = Op("$regex", "^v") }, "Acme renewal");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["tags"] = Op("$regex", @"\Qu\E") }, "Acme renewal", "Beta deal");
    }

    [Fact]
    public async Task equality_on_an_array_field_means_contains_and_an_array_value_means_exact_match()
    {
        using var client = Server.Client().AsMaster();
        var p = await SeedAsync(client);
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["tags"] = "eu" }, "Acme renewal", "Beta deal");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["tags"] = new JsonArray("vip", "eu") }, "Acme renewal");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["tags"] = new JsonArray("eu", "vip") });
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["tags"] = new JsonArray() }, "acme expansion");
    }

    [Fact]
    public async Task equality_on_pointers_and_on_arrays_of_pointers()
    {
        using var client = Server.Client().AsMaster();
        var p = await SeedAsync(client);
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["company"] = Wire.PointerTo(p.Companies, p.Acme) }, "Acme renewal", "acme expansion");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["company"] = Wire.PointerTo("Other", p.Acme) });

        var cls = Wire.Unique("Team");
        await client.CreateAsync(cls, new JsonObject { ["title"] = "both", ["clients"] = new JsonArray(Wire.PointerTo(p.Companies, p.Acme), Wire.PointerTo(p.Companies, p.Beta)) });
        await client.CreateAsync(cls, new JsonObject { ["title"] = "beta", ["clients"] = new JsonArray(Wire.PointerTo(p.Companies, p.Beta)) });
        await AssertTitlesAsync(client, cls, new JsonObject { ["clients"] = Wire.PointerTo(p.Companies, p.Acme) }, "both");
        await AssertTitlesAsync(client, cls, new JsonObject { ["clients"] = Wire.PointerTo(p.Companies, p.Beta) }, "both", "beta");
    }

    [Fact]
    public async Task equality_with_null_matches_missing_and_null_values()
    {
        using var client = Server.Client().AsMaster();
        var p = await SeedAsync(client);
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["notes"] = null }, "Acme renewal", "Beta deal", "Gamma (a.b) [x]*");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["company"] = null }, "Gamma (a.b) [x]*");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["neverSeenField"] = null }, "Acme renewal", "Beta deal", "acme expansion", "Gamma (a.b) [x]*");
    }

    [Fact]
    public async Task select_and_dontSelect_match_a_key_of_a_subquery()
    {
        using var client = Server.Client().AsMaster();
        var p = await SeedAsync(client);
        JsonObject Sub(string op) => new()
        {
            ["companyName"] = Op(op, new JsonObject
            {
                ["query"] = new JsonObject { ["className"] = p.Companies, ["where"] = new JsonObject { ["industry"] = "retail" } },
                ["key"] = "name",
            }),
        };
        await AssertTitlesAsync(client, p.Deals, Sub("$select"), "Acme renewal", "acme expansion");
        await AssertTitlesAsync(client, p.Deals, Sub("$dontSelect"), "Beta deal", "Gamma (a.b) [x]*");
        var improper = new JsonObject { ["companyName"] = Op("$select", new JsonObject { ["query"] = new JsonObject { ["className"] = p.Companies } }) };
        (await client.QueryAsync(p.Deals, improper)).EnsureError(102);
    }

    [Fact]
    public async Task inQuery_and_notInQuery_match_pointers_into_a_subquery()
    {
        using var client = Server.Client().AsMaster();
        var p = await SeedAsync(client);
        JsonObject Sub(string op) => new() { ["company"] = Op(op, new JsonObject { ["className"] = p.Companies, ["where"] = new JsonObject { ["industry"] = "bank" } }) };
        await AssertTitlesAsync(client, p.Deals, Sub("$inQuery"), "Beta deal");
        await AssertTitlesAsync(client, p.Deals, Sub("$notInQuery"), "Acme renewal", "acme expansion", "Gamma (a.b) [x]*");
        (await client.QueryAsync(p.Deals, new JsonObject { ["company"] = Op("$inQuery", new JsonObject { ["where"] = new JsonObject() }) })).EnsureError(102);
    }

    [Fact]
    public async Task relation_fields_answer_pointer_in_nin_and_inQuery_as_membership()
    {
        using var client = Server.Client().AsMaster();
        var p = await SeedAsync(client);
        var teams = Wire.Unique("Team");
        await client.CreateAsync(teams, new JsonObject { ["title"] = "retail", ["clients"] = Wire.Op("AddRelation", Wire.PointerTo(p.Companies, p.Acme)) });
        await client.CreateAsync(teams, new JsonObject { ["title"] = "all", ["clients"] = Wire.Op("AddRelation", Wire.PointerTo(p.Companies, p.Acme), Wire.PointerTo(p.Companies, p.Beta)) });
        await client.CreateAsync(teams, new JsonObject { ["title"] = "none", ["clients"] = Wire.Op("AddRelation", Wire.PointerTo(p.Companies, "zzzzzzzzzz")) });

        await AssertTitlesAsync(client, teams, new JsonObject { ["clients"] = Op("$in", new JsonArray(Wire.PointerTo(p.Companies, p.Beta))) }, "all");
        await AssertTitlesAsync(client, teams, new JsonObject { ["clients"] = Op("$nin", new JsonArray(Wire.PointerTo(p.Companies, p.Beta))) }, "retail", "none");
        await AssertTitlesAsync(client, teams, new JsonObject { ["clients"] = Op("$ne", Wire.PointerTo(p.Companies, p.Acme)) }, "none");
        var bank = new JsonObject { ["className"] = p.Companies, ["where"] = new JsonObject { ["industry"] = "bank" } };
        await AssertTitlesAsync(client, teams, new JsonObject { ["clients"] = Op("$inQuery", bank.DeepClone()) }, "all");
        await AssertTitlesAsync(client, teams, new JsonObject { ["clients"] = Op("$notInQuery", bank.DeepClone()) }, "retail", "none");
    }

    [Fact]
    public async Task subqueries_apply_the_callers_acl()
    {
        using var master = Server.Client().AsMaster();
        var p = await SeedAsync(master);
        // Hide Beta from everyone but master: a client's $inQuery must not find deals through it.
        (await master.PutAsync($"classes/{p.Companies}/{p.Beta}", new JsonObject { ["ACL"] = new JsonObject() })).EnsureStatus(HttpStatusCode.OK);
        using var user = Server.Client();
        await user.SignUpAsync(Wire.Unique("sub"));
        var where = new JsonObject { ["company"] = Op("$inQuery", new JsonObject { ["className"] = p.Companies, ["where"] = new JsonObject() }) };
        await AssertTitlesAsync(master, p.Deals, where, "Acme renewal", "Beta deal", "acme expansion");
        await AssertTitlesAsync(user, p.Deals, where, "Acme renewal", "acme expansion");
    }

    [Fact]
    public async Task or_and_nor_combine_subqueries()
    {
        using var client = Server.Client().AsMaster();
        var p = await SeedAsync(client);
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["$or"] = new JsonArray(new JsonObject { ["stage"] = "lead" }, new JsonObject { ["amount"] = Op("$gt", 250) }) },
            "Acme renewal", "acme expansion", "Gamma (a.b) [x]*");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["$and"] = new JsonArray(new JsonObject { ["stage"] = "won" }, new JsonObject { ["amount"] = Op("$gt", 250) }) },
            "Gamma (a.b) [x]*");
        await AssertTitlesAsync(client, p.Deals, new JsonObject { ["$nor"] = new JsonArray(new JsonObject { ["stage"] = "won" }, new JsonObject { ["amount"] = 100 }) },
            "acme expansion");
        await AssertTitlesAsync(client, p.Deals, new JsonObject
        {
            ["stage"] = "won",
            ["$or"] = new JsonArray(new JsonObject { ["tags"] = "eu" }, new JsonObject { ["companyName"] = "Gamma" }),
        }, "Beta deal", "Gamma (a.b) [x]*");
        (await client.QueryAsync(p.Deals, new JsonObject { ["$or"] = new JsonObject() })).EnsureError(102);
        (await client.QueryAsync(p.Deals, new JsonObject { ["$nor"] = new JsonArray() })).EnsureError(102);
    }

    [Fact]
    public async Task dot_paths_query_inside_object_fields()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Addr");
        await client.CreateAsync(cls, new JsonObject { ["title"] = "lyon", ["address"] = new JsonObject { ["city"] = "Lyon", ["zip"] = 69001 } });
        await client.CreateAsync(cls, new JsonObject { ["title"] = "paris", ["address"] = new JsonObject { ["city"] = "Paris", ["zip"] = 75001 } });
        await AssertTitlesAsync(client, cls, new JsonObject { ["address.city"] = "Lyon" }, "lyon");
        await AssertTitlesAsync(client, cls, new JsonObject { ["address.zip"] = Op("$gt", 70000) }, "paris");
    }

    [Fact]
    public async Task querying_acl_is_102_and_internal_keys_are_105_for_clients()
    {
        using var client = Server.Client().AsMaster();
        var p = await SeedAsync(client);
        (await client.QueryAsync(p.Deals, new JsonObject { ["ACL"] = new JsonObject() })).EnsureError(102);
        using var user = Server.Client();
        await user.SignUpAsync(Wire.Unique("acl"));
        (await user.QueryAsync(p.Deals, new JsonObject { ["_rperm"] = "*" })).EnsureError(105);
        (await user.QueryAsync(p.Deals, new JsonObject { ["_hashed_password"] = Op("$exists", true) })).EnsureError(105);
    }

    [Fact]
    public async Task order_by_several_keys_with_descending()
    {
        using var client = Server.Client().AsMaster();
        var p = await SeedAsync(client);
        // Strings sort by code point (as Mongo without collation): lower case after upper case.
        Assert.Equal(["acme expansion", "Gamma (a.b) [x]*", "Beta deal", "Acme renewal"], await TitlesAsync(client, p.Deals, null, "order=-amount,-title"));
        Assert.Equal(["Acme renewal", "Beta deal", "Gamma (a.b) [x]*", "acme expansion"], await TitlesAsync(client, p.Deals, null, "order=amount,title"));
        var byCreated = (await client.QueryAsync(p.Deals, null, "order=-createdAt")).Results.Select(r => r!["createdAt"]!.GetValue<string>()).ToList();
        Assert.Equal(byCreated.Order(StringComparer.Ordinal).Reverse(), byCreated);
        Assert.Equal(["Acme renewal", "Beta deal"], (await TitlesAsync(client, p.Deals, new JsonObject { ["close"] = Op("$exists", true) }, "order=close")));
        // A sort on an unknown field is dropped, not an error.
        Assert.Equal(4, (await TitlesAsync(client, p.Deals, null, "order=noSuchField")).Count);
    }

    [Fact]
    public async Task limit_defaults_to_100_and_skip_pages()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Many");
        var batch = new JsonArray([.. Enumerable.Range(0, 120).Select(i => (JsonNode)new JsonObject
        {
            ["method"] = "POST", ["path"] = "/parse/classes/" + cls, ["body"] = new JsonObject { ["n"] = i },
        })]);
        for (var i = 0; i < 120; i += 40)
            (await client.PostAsync("batch", new JsonObject { ["requests"] = new JsonArray([.. batch.Skip(i).Take(40).Select(n => n!.DeepClone())]) })).EnsureStatus(HttpStatusCode.OK);

        Assert.Equal(100, (await client.QueryAsync(cls)).Results.Count);
        var page = (await client.QueryAsync(cls, null, "order=n&skip=110&limit=5")).Results.Select(r => r!["n"]!.GetValue<int>());
        Assert.Equal([110, 111, 112, 113, 114], page);
        Assert.Equal(120, (await client.QueryAsync(cls, null, "limit=500")).Results.Count);
        var count = (await client.QueryAsync(cls, null, "count=1&limit=0")).EnsureStatus(HttpStatusCode.OK);
        Assert.Empty(count.Results);
        Assert.Equal(120, count.Json!["count"]!.GetValue<int>());
        var countWithPage = (await client.QueryAsync(cls, new JsonObject { ["n"] = Op("$gte", 100) }, "count=1&limit=3&skip=2")).Json!;
        Assert.Equal(3, countWithPage["results"]!.AsArray().Count);
        Assert.Equal(20, countWithPage["count"]!.GetValue<int>());
        Assert.False((await client.QueryAsync(cls)).Json!.AsObject().ContainsKey("count"));
    }

    [Fact]
    public async Task limit_is_clamped_to_the_configured_maximum()
    {
        using var server = new CrmServer(new Dictionary<string, string?> { ["Parse:Limits:MaxLimit"] = "3" });
        using var client = server.Client().AsMaster();
        var cls = Wire.Unique("Clamp");
        for (var i = 0; i < 5; i++) await client.CreateAsync(cls, new { n = i });
        Assert.Equal(3, (await client.QueryAsync(cls, null, "limit=1000")).EnsureStatus(HttpStatusCode.OK).Results.Count);
        Assert.Equal(3, (await client.QueryAsync(cls)).Results.Count);
        Assert.Equal(5, await client.CountAsync(cls));
    }

    [Fact]
    public async Task keys_project_fields_and_always_keep_the_default_fields()
    {
        using var client = Server.Client().AsMaster();
        var p = await SeedAsync(client);
        var result = (await client.QueryAsync(p.Deals, new JsonObject { ["stage"] = "lead" }, "keys=title,amount")).Results.Single()!.AsObject();
        Assert.Equal(["amount", "createdAt", "objectId", "title", "updatedAt"], result.Select(kv => kv.Key).Order(StringComparer.Ordinal));
        var excluded = (await client.QueryAsync(p.Deals, new JsonObject { ["stage"] = "lead" }, "excludeKeys=tags,company,objectId")).Results.Single()!.AsObject();
        Assert.False(excluded.ContainsKey("tags"));
        Assert.False(excluded.ContainsKey("company"));
        Assert.True(excluded.ContainsKey("objectId"));
        Assert.True(excluded.ContainsKey("title"));
    }

    [Fact]
    public async Task include_replaces_pointers_by_objects_and_keys_can_project_inside_them()
    {
        using var client = Server.Client().AsMaster();
        var p = await SeedAsync(client);
        var included = (await client.QueryAsync(p.Deals, new JsonObject { ["stage"] = "lead" }, "include=company")).Results.Single()!;
        var company = included["company"]!;
        Assert.Equal("Object", company["__type"]!.GetValue<string>());
        Assert.Equal(p.Companies, company["className"]!.GetValue<string>());
        Assert.Equal(p.Acme, company["objectId"]!.GetValue<string>());
        Assert.Equal("Acme", company["name"]!.GetValue<string>());
        Assert.Equal("retail", company["industry"]!.GetValue<string>());
        Assert.NotNull(company["createdAt"]);

        var projected = (await client.QueryAsync(p.Deals, new JsonObject { ["stage"] = "lead" }, "keys=title,company.name")).Results.Single()!.AsObject();
        Assert.Equal("Acme renewal", projected["title"]!.GetValue<string>());
        Assert.False(projected.ContainsKey("amount"));
        var inner = projected["company"]!.AsObject();
        Assert.Equal("Acme", inner["name"]!.GetValue<string>());
        Assert.False(inner.ContainsKey("industry"));
        Assert.Equal(p.Acme, inner["objectId"]!.GetValue<string>());

        // Without include a pointer stays a pointer.
        var plain = (await client.QueryAsync(p.Deals, new JsonObject { ["stage"] = "lead" })).Results.Single()!;
        Assert.True(JsonNode.DeepEquals(Wire.PointerTo(p.Companies, p.Acme), plain["company"]));
    }

    [Fact]
    public async Task include_follows_dot_paths_and_arrays_of_pointers()
    {
        using var client = Server.Client().AsMaster();
        var owners = Wire.Unique("Owner");
        var companies = Wire.Unique("Company");
        var deals = Wire.Unique("Deal");
        var owner = await client.CreateAsync(owners, new { name = "Olga" });
        var acme = await client.CreateAsync(companies, new JsonObject { ["name"] = "Acme", ["owner"] = Wire.PointerTo(owners, owner) });
        var beta = await client.CreateAsync(companies, new JsonObject { ["name"] = "Beta" });
        await client.CreateAsync(deals, new JsonObject
        {
            ["title"] = "d",
            ["company"] = Wire.PointerTo(companies, acme),
            ["partners"] = new JsonArray(Wire.PointerTo(companies, beta), "not a pointer", Wire.PointerTo(companies, acme)),
        });

        var result = (await client.QueryAsync(deals, null, "include=company.owner,partners")).Results.Single()!;
        Assert.Equal("Acme", result["company"]!["name"]!.GetValue<string>());
        Assert.Equal("Olga", result["company"]!["owner"]!["name"]!.GetValue<string>());
        var partners = result["partners"]!.AsArray();
        Assert.Equal(3, partners.Count);
        Assert.Equal("Beta", partners[0]!["name"]!.GetValue<string>());
        Assert.Equal("not a pointer", partners[1]!.GetValue<string>());
        Assert.Equal("Acme", partners[2]!["name"]!.GetValue<string>());
        // include of a nested path also includes the intermediate level only as deep as asked.
        var shallow = (await client.QueryAsync(deals, null, "include=company")).Results.Single()!;
        Assert.Equal("Pointer", shallow["company"]!["owner"]!["__type"]!.GetValue<string>());
        // include on a get by id.
        var id = result["objectId"]!.GetValue<string>();
        var got = (await client.GetAsync($"classes/{deals}/{id}?include=company")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Equal("Acme", got["company"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task include_star_and_includeAll_include_every_pointer_and_array_of_pointers()
    {
        using var client = Server.Client().AsMaster();
        var companies = Wire.Unique("Company");
        var deals = Wire.Unique("Deal");
        var acme = await client.CreateAsync(companies, new { name = "Acme" });
        var beta = await client.CreateAsync(companies, new { name = "Beta" });
        await client.CreateAsync(deals, new JsonObject
        {
            ["title"] = "d",
            ["company"] = Wire.PointerTo(companies, acme),
            ["partners"] = new JsonArray(Wire.PointerTo(companies, beta)),
        });
        foreach (var query in new[] { "include=*", "includeAll=true" })
        {
            var result = (await client.QueryAsync(deals, null, query)).EnsureStatus(HttpStatusCode.OK).Results.Single()!;
            Assert.Equal("Acme", result["company"]!["name"]!.GetValue<string>());
            Assert.Equal("Beta", result["partners"]![0]!["name"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task keys_with_a_dot_path_project_inside_included_arrays_of_pointers()
    {
        using var client = Server.Client().AsMaster();
        var companies = Wire.Unique("Company");
        var deals = Wire.Unique("Deal");
        var acme = await client.CreateAsync(companies, new { name = "Acme", industry = "retail" });
        await client.CreateAsync(deals, new JsonObject { ["title"] = "d", ["amount"] = 1, ["partners"] = new JsonArray(Wire.PointerTo(companies, acme)) });
        var result = (await client.QueryAsync(deals, null, "keys=partners.name")).EnsureStatus(HttpStatusCode.OK).Results.Single()!.AsObject();
        Assert.False(result.ContainsKey("title"));
        var partner = result["partners"]![0]!.AsObject();
        Assert.Equal("Acme", partner["name"]!.GetValue<string>());
        Assert.False(partner.ContainsKey("industry"));
    }

    [Fact]
    public async Task included_objects_the_caller_cannot_read_are_dropped()
    {
        using var master = Server.Client().AsMaster();
        var companies = Wire.Unique("Company");
        var deals = Wire.Unique("Deal");
        var open = await master.CreateAsync(companies, new { name = "Open" });
        var hidden = await master.CreateAsync(companies, new JsonObject { ["name"] = "Hidden", ["ACL"] = new JsonObject() });
        await master.CreateAsync(deals, new JsonObject
        {
            ["title"] = "d",
            ["company"] = Wire.PointerTo(companies, hidden),
            ["partners"] = new JsonArray(Wire.PointerTo(companies, open), Wire.PointerTo(companies, hidden)),
        });

        using var user = Server.Client();
        await user.SignUpAsync(Wire.Unique("inc"));
        var result = (await user.QueryAsync(deals, null, "include=company,partners")).EnsureStatus(HttpStatusCode.OK).Results.Single()!.AsObject();
        Assert.False(result.ContainsKey("company"));
        var partners = result["partners"]!.AsArray();
        Assert.Single(partners);
        Assert.Equal("Open", partners[0]!["name"]!.GetValue<string>());

        var asMaster = (await master.QueryAsync(deals, null, "include=company")).Results.Single()!;
        Assert.Equal("Hidden", asMaster["company"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task a_query_on_a_class_that_does_not_exist_is_empty_for_master_and_119_for_clients()
    {
        using var master = Server.Client().AsMaster();
        var cls = Wire.Unique("Nothing");
        Assert.Empty((await master.QueryAsync(cls)).EnsureStatus(HttpStatusCode.OK).Results);
        using var client = Server.Client();
        (await client.QueryAsync(cls)).EnsureError(119);
    }

    [Fact]
    public async Task count_respects_acl()
    {
        using var master = Server.Client().AsMaster();
        var cls = Wire.Unique("Cnt");
        await master.CreateAsync(cls, new { n = 1 });
        await master.CreateAsync(cls, new JsonObject { ["n"] = 2, ["ACL"] = new JsonObject() });
        using var client = Server.Client();
        Assert.Equal(2, await master.CountAsync(cls));
        Assert.Equal(1, await client.CountAsync(cls));
    }

    [Fact]
    public async Task comparison_with_a_non_scalar_operand_is_107()
    {
        using var client = Server.Client().AsMaster();
        var p = await SeedAsync(client);
        (await client.QueryAsync(p.Deals, new JsonObject { ["amount"] = Op("$lt", new JsonArray(1)) })).EnsureError(107);
        (await client.QueryAsync(p.Deals, new JsonObject { ["amount"] = Op("$gt", new JsonObject { ["__type"] = "Date" }) })).EnsureError(107);
        (await client.QueryAsync(p.Deals, new JsonObject { ["company"] = new JsonObject { ["__type"] = "Pointer" } })).EnsureError(107);
    }
}
