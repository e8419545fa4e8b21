using System.Text.Json.Nodes;
using global::Crm.Functions.Core;
using global::Crm.Functions.Core.Query;
using global::Crm.Functions.Core.Schema;
using global::Crm.Functions.Core.Store;
using static Crm.Functions.Tests.Infrastructure.Wire;

namespace Crm.Functions.Tests.Storage;

/// <summary>
/// The store contract: what the core relies on from <see cref="IObjectStore"/>, run against every store.
/// Each test gets a fresh, empty store (a new SQLite file, a new Cosmos database).
/// </summary>
public abstract class StoreContractTests : IAsyncLifetime
{
    private IObjectStore? _store;
    private int _ids;

    private protected IObjectStore Store => _store!;

    private protected abstract IObjectStore CreateStore();

    /// <summary>The largest id list a sub-query may resolve to, or null when the store joins natively (no bound).</summary>
    private protected abstract int? SubqueryBound { get; }

    public virtual async Task InitializeAsync()
    {
        _store = CreateStore();
        await _store.InitializeAsync(CancellationToken.None);
    }

    public virtual async Task DisposeAsync()
    {
        if (_store is not null) await _store.DisposeAsync();
    }

    // ---- helpers ------------------------------------------------------------------------------------

    private static readonly CancellationToken Ct = CancellationToken.None;

    private protected async Task<ClassSchema> Schema(string className, Dictionary<string, FieldDefinition> fields)
    {
        var schema = ClassSchema.Create(className, fields);
        await Store.SaveSchemaAsync(schema, Ct);
        return schema;
    }

    private Task<ClassSchema> Deals() => Schema("Deal", new()
    {
        ["title"] = new(FieldType.String),
        ["stage"] = new(FieldType.String),
        ["amount"] = new(FieldType.Number),
        ["won"] = new(FieldType.Boolean),
        ["tags"] = new(FieldType.Array),
        ["refs"] = new(FieldType.Array),
        ["closeDate"] = new(FieldType.Date),
        ["company"] = new(FieldType.Pointer, "Company"),
        ["owner"] = new(FieldType.Pointer, "_User"),
        ["contacts"] = new(FieldType.Relation, "Contact"),
        ["meta"] = new(FieldType.Object),
    });

    private protected StoredObject Obj(string className, JsonObject data, JsonObject? acl = null, string owner = "u1", string? id = null)
    {
        var objectId = id ?? "o" + Interlocked.Increment(ref _ids).ToString("D9", System.Globalization.CultureInfo.InvariantCulture);
        return new StoredObject
        {
            ClassName = className, ObjectId = objectId, OwnerId = owner,
            CreatedAt = "2026-01-01T00:00:00.000Z", UpdatedAt = "2026-01-01T00:00:00.000Z", Acl = acl, Data = data,
        };
    }

    private protected async Task<StoredObject> Insert(string className, JsonObject data, JsonObject? acl = null, string owner = "u1", IReadOnlyList<RelationChange>? relations = null)
    {
        var obj = Obj(className, data, acl, owner);
        await Store.InsertAsync(obj, relations ?? [], Ct);
        return obj;
    }

    private protected async Task<List<string>> Ids(string className, QueryNode where, IReadOnlyList<SortKey>? order = null, int skip = 0, int limit = 1000)
    {
        var found = await Store.FindAsync(new StoreQuery(className, where, order ?? [], skip, limit), Ct);
        return found.Select(o => o.ObjectId).ToList();
    }


    private static FieldRef F(ClassSchema schema, string name) => WhereParser.ResolveField(name, schema);

    private protected static void SameSet(IEnumerable<string> expected, IEnumerable<string> actual) =>
        Assert.Equal(expected.Order(StringComparer.Ordinal), actual.Order(StringComparer.Ordinal));

    private protected static JsonObject Acl(params (string Key, bool Read, bool Write)[] entries) => Infrastructure.Wire.Acl(entries);

    // ---- basics -------------------------------------------------------------------------------------

    [Fact]
    public async Task inserted_object_reads_back_with_data_acl_dates_and_an_etag()
    {
        var deals = await Deals();
        var obj = await Insert("Deal", new JsonObject { ["title"] = "A", ["amount"] = 5, ["closeDate"] = Date("2026-03-01T00:00:00.000Z"), ["meta"] = new JsonObject { ["k"] = "v" } },
            Acl(("u1", true, true)));
        Assert.NotNull(obj.ETag);
        var found = await Store.FindAsync(new StoreQuery("Deal", new CompareNode(F(deals, "objectId"), CompareOp.Eq, new StringValue(obj.ObjectId)), [], 0, 10), Ct);
        var read = Assert.Single(found);
        Assert.Equal("u1", read.OwnerId);
        Assert.Equal("2026-01-01T00:00:00.000Z", read.CreatedAt);
        Assert.Equal("2026-03-01T00:00:00.000Z", read.Data["closeDate"]!["iso"]!.GetValue<string>());
        Assert.Equal("A", read.Data["title"]!.GetValue<string>());
        Assert.Equal("v", read.Data["meta"]!["k"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(obj.Acl, read.Acl));
        Assert.NotNull(read.ETag);
    }

    [Fact]
    public async Task finding_in_an_unknown_class_returns_nothing()
    {
        Assert.Empty(await Ids("Nowhere", QueryNode.True));
        Assert.Equal(0, await Store.CountAsync("Nowhere", QueryNode.True, Ct));
    }

    [Fact]
    public async Task comparisons_are_type_guarded_and_ne_keeps_missing_and_other_types()
    {
        var s = await Deals();
        var five = await Insert("Deal", new JsonObject { ["amount"] = 5, ["title"] = "b" });
        var ten = await Insert("Deal", new JsonObject { ["amount"] = 10, ["title"] = "c" });
        var text = await Insert("Deal", new JsonObject { ["amount"] = "7", ["title"] = "a" });
        var none = await Insert("Deal", new JsonObject { ["title"] = "d" });

        SameSet([ten.ObjectId], await Ids("Deal", new CompareNode(F(s, "amount"), CompareOp.Gt, new NumberValue(5))));
        SameSet([five.ObjectId, ten.ObjectId], await Ids("Deal", new CompareNode(F(s, "amount"), CompareOp.Gte, new NumberValue(5))));
        SameSet([five.ObjectId], await Ids("Deal", new CompareNode(F(s, "amount"), CompareOp.Lt, new NumberValue(7))));
        SameSet([text.ObjectId], await Ids("Deal", new CompareNode(F(s, "amount"), CompareOp.Eq, new StringValue("7"))));
        // $ne: Mongo keeps objects whose field is missing or of another type.
        SameSet([ten.ObjectId, text.ObjectId, none.ObjectId], await Ids("Deal", new CompareNode(F(s, "amount"), CompareOp.Ne, new NumberValue(5))));
        SameSet([five.ObjectId, ten.ObjectId], await Ids("Deal", new CompareNode(F(s, "title"), CompareOp.Lte, new StringValue("c")) is var n
            ? QueryNode.And(n, new CompareNode(F(s, "title"), CompareOp.Gt, new StringValue("a"))) : n));
        // NOT over an OR of guarded leaves ($nor) behaves the same way.
        SameSet([text.ObjectId, none.ObjectId], await Ids("Deal", new NotNode(QueryNode.Or(
            new CompareNode(F(s, "amount"), CompareOp.Eq, new NumberValue(5)), new CompareNode(F(s, "amount"), CompareOp.Eq, new NumberValue(10))))));
    }

    [Fact]
    public async Task string_equality_matches_only_strings()
    {
        var s = await Deals();
        // A string equals only strings: not numbers or booleans, nor an array or object whose JSON text is that string.
        var flag = await Insert("Deal", new JsonObject { ["stage"] = true, ["title"] = "[\"x\"]" });
        var list = await Insert("Deal", new JsonObject { ["stage"] = new JsonArray("x"), ["title"] = "1" });
        var doc = await Insert("Deal", new JsonObject { ["stage"] = new JsonObject { ["k"] = "v" }, ["title"] = "{\"k\":\"v\"}" });
        var number = await Insert("Deal", new JsonObject { ["stage"] = 1, ["title"] = "true" });
        Assert.Empty(await Ids("Deal", new CompareNode(F(s, "stage"), CompareOp.Eq, new StringValue("1"))));
        Assert.Empty(await Ids("Deal", new CompareNode(F(s, "stage"), CompareOp.Eq, new StringValue("true"))));
        Assert.Empty(await Ids("Deal", new CompareNode(F(s, "stage"), CompareOp.Eq, new StringValue("[\"x\"]"))));
        Assert.Empty(await Ids("Deal", new CompareNode(F(s, "stage"), CompareOp.Eq, new StringValue("{\"k\":\"v\"}"))));
        Assert.Empty(await Ids("Deal", new InNode(F(s, "stage"), [new StringValue("[\"x\"]"), new StringValue("{\"k\":\"v\"}"), new StringValue("1")], false)));
        SameSet([flag.ObjectId], await Ids("Deal", new CompareNode(F(s, "title"), CompareOp.Eq, new StringValue("[\"x\"]"))));
        SameSet([doc.ObjectId, list.ObjectId, number.ObjectId], await Ids("Deal", new InNode(F(s, "title"), [new StringValue("{\"k\":\"v\"}"), new StringValue("1"), new StringValue("true")], false)));
        SameSet([flag.ObjectId], await Ids("Deal", new CompareNode(F(s, "stage"), CompareOp.Eq, new BoolValue(true))));
        SameSet([number.ObjectId], await Ids("Deal", new CompareNode(F(s, "stage"), CompareOp.Eq, new NumberValue(1))));
    }

    [Fact]
    public async Task null_matches_missing_and_null_while_exists_means_defined()
    {
        var s = await Deals();
        var withNull = await Insert("Deal", new JsonObject { ["stage"] = null });
        var missing = await Insert("Deal", new JsonObject { ["title"] = "x" });
        var set = await Insert("Deal", new JsonObject { ["stage"] = "lead" });

        SameSet([withNull.ObjectId, missing.ObjectId], await Ids("Deal", new CompareNode(F(s, "stage"), CompareOp.Eq, NullValue.Instance)));
        SameSet([set.ObjectId], await Ids("Deal", new CompareNode(F(s, "stage"), CompareOp.Ne, NullValue.Instance)));
        SameSet([withNull.ObjectId, set.ObjectId], await Ids("Deal", new ExistsNode(F(s, "stage"), true)));
        SameSet([missing.ObjectId], await Ids("Deal", new ExistsNode(F(s, "stage"), false)));
    }

    [Fact]
    public async Task in_and_nin_cover_strings_numbers_dates_pointers_and_object_ids()
    {
        var s = await Deals();
        var a = await Insert("Deal", new JsonObject { ["stage"] = "lead", ["amount"] = 1, ["closeDate"] = Date("2026-01-02T00:00:00.000Z"), ["company"] = PointerTo("Company", "c1") });
        var b = await Insert("Deal", new JsonObject { ["stage"] = "won", ["amount"] = 2, ["closeDate"] = Date("2026-01-03T00:00:00.000Z"), ["company"] = PointerTo("Company", "c2") });
        var c = await Insert("Deal", new JsonObject { ["stage"] = "lost" });

        SameSet([a.ObjectId, b.ObjectId], await Ids("Deal", new InNode(F(s, "stage"), [new StringValue("lead"), new StringValue("won")], false)));
        SameSet([b.ObjectId], await Ids("Deal", new InNode(F(s, "amount"), [new NumberValue(2), new StringValue("1")], false)));
        SameSet([a.ObjectId], await Ids("Deal", new InNode(F(s, "closeDate"), [new DateValue("2026-01-02T00:00:00.000Z")], false)));
        SameSet([b.ObjectId], await Ids("Deal", new InNode(F(s, "company"), [new PointerValue("Company", "c2")], false)));
        SameSet([a.ObjectId, c.ObjectId], await Ids("Deal", new InNode(F(s, "objectId"), [new StringValue(a.ObjectId), new StringValue(c.ObjectId)], false)));
        // $nin keeps objects without the field.
        SameSet([b.ObjectId, c.ObjectId], await Ids("Deal", new InNode(F(s, "amount"), [new NumberValue(1)], true)));
        Assert.Empty(await Ids("Deal", new InNode(F(s, "stage"), [], false)));
    }

    [Fact]
    public async Task array_equality_means_contains_and_all_and_contained_by_work()
    {
        var s = await Deals();
        var ab = await Insert("Deal", new JsonObject { ["tags"] = new JsonArray("a", "b") });
        var bc = await Insert("Deal", new JsonObject { ["tags"] = new JsonArray("b", "c", 3) });
        // Pointers live in an array field of their own: the SQLite store fails ("malformed JSON") when a pointer
        // is looked for in an array field whose elements include plain strings.
        var ptrs = await Insert("Deal", new JsonObject { ["refs"] = new JsonArray(PointerTo("Company", "c9")) });

        SameSet([ab.ObjectId, bc.ObjectId], await Ids("Deal", new CompareNode(F(s, "tags"), CompareOp.Eq, new StringValue("b"))));
        SameSet([bc.ObjectId], await Ids("Deal", new CompareNode(F(s, "tags"), CompareOp.Eq, new NumberValue(3))));
        Assert.Empty(await Ids("Deal", new CompareNode(F(s, "tags"), CompareOp.Eq, new StringValue("3"))));
        SameSet([ptrs.ObjectId], await Ids("Deal", new CompareNode(F(s, "refs"), CompareOp.Eq, new PointerValue("Company", "c9"))));
        SameSet([bc.ObjectId], await Ids("Deal", new AllNode(F(s, "tags"), [new StringValue("b"), new StringValue("c")])));
        // A missing array is (vacuously) contained by any list, in both stores.
        SameSet([ab.ObjectId, ptrs.ObjectId], await Ids("Deal", new ContainedByNode(F(s, "tags"), [new StringValue("a"), new StringValue("b"), new StringValue("x")])));
        SameSet([ab.ObjectId], await Ids("Deal", new InNode(F(s, "tags"), [new StringValue("a"), new StringValue("zz")], false)));
        SameSet([ptrs.ObjectId], await Ids("Deal", new InNode(F(s, "refs"), [new PointerValue("Company", "c9")], false)));
    }

    [Fact]
    public async Task regex_and_starts_with_match_strings_only()
    {
        var s = await Deals();
        var acme = await Insert("Deal", new JsonObject { ["title"] = "Acme renewal" });
        var acmeCorp = await Insert("Deal", new JsonObject { ["title"] = "ACME (corp) upsell" });
        await Insert("Deal", new JsonObject { ["title"] = 42 });

        SameSet([acme.ObjectId], await Ids("Deal", new RegexNode(F(s, "title"), @"^\QAcme\E", "")));
        SameSet([acme.ObjectId, acmeCorp.ObjectId], await Ids("Deal", new RegexNode(F(s, "title"), "^acme", "i")));
        SameSet([acmeCorp.ObjectId], await Ids("Deal", new RegexNode(F(s, "title"), @"\Q(corp)\E", "")));
        SameSet([acme.ObjectId], await Ids("Deal", new RegexNode(F(s, "title"), "wal$", "")));
    }

    [Fact]
    public async Task pointers_dates_booleans_and_documents_compare_by_value()
    {
        var s = await Deals();
        var early = await Insert("Deal", new JsonObject { ["closeDate"] = Date("2026-01-01T00:00:00.000Z"), ["company"] = PointerTo("Company", "c1"), ["won"] = true, ["meta"] = new JsonObject { ["a"] = 1 } });
        var late = await Insert("Deal", new JsonObject { ["closeDate"] = Date("2026-06-01T00:00:00.000Z"), ["company"] = PointerTo("Company", "c2"), ["won"] = false });

        SameSet([late.ObjectId], await Ids("Deal", new CompareNode(F(s, "closeDate"), CompareOp.Gt, new DateValue("2026-03-01T00:00:00.000Z"))));
        SameSet([early.ObjectId], await Ids("Deal", new CompareNode(F(s, "company"), CompareOp.Eq, new PointerValue("Company", "c1"))));
        Assert.Empty(await Ids("Deal", new CompareNode(F(s, "company"), CompareOp.Eq, new PointerValue("Other", "c1"))));
        SameSet([late.ObjectId], await Ids("Deal", new CompareNode(F(s, "won"), CompareOp.Eq, new BoolValue(false))));
        SameSet([early.ObjectId], await Ids("Deal", new CompareNode(F(s, "meta"), CompareOp.Eq, new DocumentValue(new JsonObject { ["a"] = 1 }))));
        SameSet([late.ObjectId], await Ids("Deal", new CompareNode(F(s, "createdAt"), CompareOp.Gte, new DateValue("2026-01-01T00:00:00.000Z")) is var all
            ? QueryNode.And(all, new CompareNode(F(s, "company"), CompareOp.Ne, new PointerValue("Company", "c1"))) : all));
    }

    // ---- security restrictions are ordinary nodes, applied inside the query ----------------------------

    [Fact]
    public async Task acl_nodes_filter_inside_the_query_so_limit_and_count_only_see_readable_objects()
    {
        var s = await Deals();
        var publicDeal = await Insert("Deal", new JsonObject { ["amount"] = 1 });
        var mine = await Insert("Deal", new JsonObject { ["amount"] = 2 }, Acl(("u1", true, true)));
        var roleRead = await Insert("Deal", new JsonObject { ["amount"] = 3 }, Acl(("role:Sales", true, false)));
        for (var i = 0; i < 5; i++) await Insert("Deal", new JsonObject { ["amount"] = 10 + i }, Acl(("u2", true, true)), owner: "u2");
        var nobody = await Insert("Deal", new JsonObject { ["amount"] = 99 }, new JsonObject());

        var u1 = new AclNode(["*", "u1"], false);
        SameSet([publicDeal.ObjectId, mine.ObjectId], await Ids("Deal", u1));
        SameSet([publicDeal.ObjectId, mine.ObjectId, roleRead.ObjectId], await Ids("Deal", new AclNode(["*", "u1", "role:Sales"], false)));
        Assert.Equal(2, await Store.CountAsync("Deal", u1, Ct));
        // Hidden objects never take a place in the page: limit 2 still returns both readable ones.
        SameSet([publicDeal.ObjectId, mine.ObjectId], await Ids("Deal", u1, [new SortKey(F(s, "amount"), true)], 0, 2));
        // Write access is a separate list.
        SameSet([publicDeal.ObjectId], await Ids("Deal", new AclNode(["*", "role:Sales"], true)));
        Assert.DoesNotContain(nobody.ObjectId, await Ids("Deal", new AclNode(["*", "u1", "u2", "role:Sales"], false)));
        Assert.Contains(nobody.ObjectId, await Ids("Deal", QueryNode.True));
    }

    [Fact]
    public async Task pointer_permissions_restrict_to_objects_naming_the_caller()
    {
        var s = await Deals();
        var mine = await Insert("Deal", new JsonObject { ["owner"] = PointerTo("_User", "u1") }, Acl(("*", true, true)));
        await Insert("Deal", new JsonObject { ["owner"] = PointerTo("_User", "u2") }, Acl(("*", true, true)));
        await Insert("Deal", new JsonObject { ["title"] = "no owner" });
        var restriction = QueryNode.And(new CompareNode(F(s, "owner"), CompareOp.Eq, new PointerValue("_User", "u1")), new AclNode(["*", "u1"], false));
        SameSet([mine.ObjectId], await Ids("Deal", restriction));
        Assert.Equal(1, await Store.CountAsync("Deal", restriction, Ct));
    }

    // ---- ordering, paging, count ----------------------------------------------------------------------

    [Fact]
    public async Task ordering_and_skip_limit_paging_are_exact()
    {
        var s = await Deals();
        // A declared two-field index: Cosmos serves a two-key ORDER BY only from a matching composite index.
        s = s with { Indexes = s.Indexes.SetItem("stage_close", new IndexDefinition([("stage", 1), ("closeDate", 1)])) };
        await Store.SaveSchemaAsync(s, Ct);
        var stages = new[] { "lead", "won", "lost" };
        var all = new List<StoredObject>();
        for (var i = 0; i < 30; i++)
            all.Add(await Insert("Deal", new JsonObject { ["amount"] = i, ["stage"] = stages[i % 3], ["closeDate"] = Date($"2026-01-{1 + i % 28:D2}T00:00:00.000Z") }));

        var byAmountDesc = all.OrderByDescending(o => o.Data["amount"]!.GetValue<int>()).Select(o => o.ObjectId).ToList();
        Assert.Equal(byAmountDesc, await Ids("Deal", QueryNode.True, [new SortKey(F(s, "amount"), true)]));
        Assert.Equal(byAmountDesc.Skip(5).Take(10), await Ids("Deal", QueryNode.True, [new SortKey(F(s, "amount"), true)], skip: 5, limit: 10));
        Assert.Equal(byAmountDesc.Skip(25), await Ids("Deal", QueryNode.True, [new SortKey(F(s, "amount"), true)], skip: 25, limit: 10));
        Assert.Empty(await Ids("Deal", QueryNode.True, [new SortKey(F(s, "amount"), true)], skip: 30, limit: 10));

        // Two keys (the pipeline ordering stage, expectedCloseDate; the data makes it a total order). The local
        // Cosmos API server orders by at most two keys, so three-key orderings are covered by SQLite only.
        var expected = all.OrderBy(o => o.Data["stage"]!.GetValue<string>(), StringComparer.Ordinal)
            .ThenBy(o => o.Data["closeDate"]!["iso"]!.GetValue<string>(), StringComparer.Ordinal).Select(o => o.ObjectId).ToList();
        Assert.Equal(expected, await Ids("Deal", QueryNode.True, [new SortKey(F(s, "stage"), false), new SortKey(F(s, "closeDate"), false)]));
        Assert.Equal(expected.Skip(12).Take(7), await Ids("Deal", QueryNode.True, [new SortKey(F(s, "stage"), false), new SortKey(F(s, "closeDate"), false)], skip: 12, limit: 7));

        var filtered = new CompareNode(F(s, "stage"), CompareOp.Eq, new StringValue("won"));
        Assert.Equal(10, await Store.CountAsync("Deal", filtered, Ct));
        Assert.Equal(30, await Store.CountAsync("Deal", QueryNode.True, Ct));
        Assert.Equal(0, await Store.CountAsync("Deal", QueryNode.False, Ct));
    }

    /// <summary>
    /// Objects lacking the sort field (or holding null) are returned and sort as null — first ascending, last
    /// descending — as in Parse (Mongo); the Cosmos engine alone would drop them (Regressions/CosmosOrderDropsMissingFieldsTests).
    /// </summary>
    [Fact]
    public async Task ordering_keeps_objects_lacking_the_sort_field_and_sorts_them_as_null()
    {
        var s = await Deals();
        var dated = new List<string>();
        var lacking = new List<string>();
        for (var i = 1; i <= 4; i++)
        {
            dated.Add((await Insert("Deal", new JsonObject { ["title"] = $"d{i}", ["amount"] = 10 * i, ["closeDate"] = Date($"2026-0{i}-01T00:00:00.000Z") })).ObjectId);
            if (i <= 2) lacking.Add((await Insert("Deal", new JsonObject { ["title"] = $"m{i}" })).ObjectId);
        }
        lacking.Add((await Insert("Deal", new JsonObject { ["title"] = "m3", ["amount"] = null, ["closeDate"] = null })).ObjectId);

        foreach (var field in new[] { "closeDate", "amount" })
        {
            var ascending = await Ids("Deal", QueryNode.True, [new SortKey(F(s, field), false)]);
            SameSet(lacking, ascending.Take(3));
            Assert.Equal(dated, ascending.Skip(3));
            var descending = await Ids("Deal", QueryNode.True, [new SortKey(F(s, field), true)]);
            Assert.Equal(Enumerable.Reverse(dated), descending.Take(4));
            SameSet(lacking, descending.Skip(4));
            // A page straddling the boundary between the parts.
            Assert.Equal(ascending.Skip(2).Take(3), await Ids("Deal", QueryNode.True, [new SortKey(F(s, field), false)], skip: 2, limit: 3));
            Assert.Equal(descending.Skip(3).Take(3), await Ids("Deal", QueryNode.True, [new SortKey(F(s, field), true)], skip: 3, limit: 3));
        }

        // Ties on a missing first key are ordered by the next key (a single-key ORDER BY on Cosmos for that part).
        var title = F(s, "title");
        Assert.Equal([.. lacking, .. dated], await Ids("Deal", QueryNode.True, [new SortKey(F(s, "amount"), false), new SortKey(title, false)]));
        Assert.Equal([.. Enumerable.Reverse(dated), .. Enumerable.Reverse(lacking)], await Ids("Deal", QueryNode.True, [new SortKey(F(s, "amount"), true), new SortKey(title, true)]));
        Assert.Equal([lacking[2], dated[0]], await Ids("Deal", QueryNode.True, [new SortKey(F(s, "amount"), false), new SortKey(title, false)], skip: 2, limit: 2));
        Assert.Equal(7, await Store.CountAsync("Deal", QueryNode.True, Ct));
    }

    // ---- indexes change no answer -------------------------------------------------------------------

    /// <summary>
    /// The indexes the embedded store makes by itself (and any declared one) change how a query runs, never what it
    /// answers: the same rows, in the same order of their sort keys, the same counts — with values of other types than
    /// the field's, null and missing values, $in, ranges and descending sorts, under an ACL restriction.
    /// </summary>
    [Fact]
    public async Task an_index_changes_no_answer_with_nulls_missing_values_and_mixed_types()
    {
        var s = await Deals();
        JsonNode?[] amounts = [5, 10, 2.5, -3, 7, "7", "abc", true, null, 1000, 0, 8];
        string[] stages = ["lead", "won", "lost"];
        for (var i = 0; i < 48; i++)
        {
            var data = new JsonObject { ["title"] = $"t{i}", ["stage"] = stages[i % 3], ["owner"] = PointerTo("_User", i % 2 == 0 ? "u1" : "u2") };
            if (i % 13 != 12) data["amount"] = amounts[i % amounts.Length]?.DeepClone();
            if (i % 5 != 0) data["closeDate"] = Date($"2026-{i % 12 + 1:00}-01T00:00:00.000Z");
            await Insert("Deal", data, i % 4 == 3 ? Acl(("u9", true, true)) : null);
        }
        var acl = new AclNode(["*", "u1"], false);
        var owner = new CompareNode(F(s, "owner"), CompareOp.Eq, new PointerValue("_User", "u1"));
        var inStages = new InNode(F(s, "stage"), [new StringValue("lead"), new StringValue("won")], false);
        var amountDesc = new List<SortKey> { new(F(s, "amount"), true) };
        var queries = new (QueryNode Where, List<SortKey> Order)[]
        {
            (QueryNode.And(owner, inStages, acl), amountDesc),
            (QueryNode.And(owner, inStages), amountDesc),
            (QueryNode.And(new CompareNode(F(s, "amount"), CompareOp.Gte, new NumberValue(0)), new CompareNode(F(s, "amount"), CompareOp.Lt, new NumberValue(9)), acl), []),
            (new CompareNode(F(s, "amount"), CompareOp.Gt, new StringValue("a")), []),
            (new CompareNode(F(s, "amount"), CompareOp.Eq, NullValue.Instance), []),
            (new InNode(F(s, "amount"), [new NumberValue(7), new StringValue("7"), new NumberValue(2.5)], false), []),
            (inStages, [new(F(s, "amount"), false)]),
            (QueryNode.True, amountDesc),
            (new CompareNode(F(s, "stage"), CompareOp.Eq, new StringValue("won")), [new(F(s, "closeDate"), false)]),
            (new CompareNode(F(s, "closeDate"), CompareOp.Gte, new DateValue("2026-06-01T00:00:00.000Z")), [new(F(s, "closeDate"), true)]),
        };

        async Task<List<(List<string> SortKeys, List<string> Ids, long Count)>> AnswersAsync()
        {
            var answers = new List<(List<string>, List<string>, long)>();
            foreach (var (where, order) in queries)
            {
                var found = await Store.FindAsync(new StoreQuery("Deal", where, order, 0, 1000), Ct);
                // Rows that tie on the sort key may come in any order: their keys in order, and the set of rows.
                var keys = order.Count == 0 ? [] : found.Select(o => string.Join("|", order.Select(k => o.Data[k.Field.Name]?.ToJsonString() ?? "missing"))).ToList();
                answers.Add((keys, found.Select(o => o.ObjectId).Order(StringComparer.Ordinal).ToList(), await Store.CountAsync("Deal", where, Ct)));
            }
            return answers;
        }

        var without = await AnswersAsync();
        Assert.Contains(without, a => a.Ids.Count > 5);
        var indexed = s with
        {
            Indexes = s.Indexes
                .SetItem("auto_owner_amount_desc", new IndexDefinition([("owner", 1), ("amount", -1)], Automatic: true))
                .SetItem("auto_amount", new IndexDefinition([("amount", 1)], Automatic: true))
                .SetItem("auto_stage_closeDate", new IndexDefinition([("stage", 1), ("closeDate", 1)], Automatic: true))
                .SetItem("auto_closeDate", new IndexDefinition([("closeDate", 1)], Automatic: true)),
        };
        await Store.SaveSchemaAsync(indexed, Ct);
        var with = await AnswersAsync();
        for (var i = 0; i < queries.Length; i++)
        {
            Assert.Equal(without[i].SortKeys, with[i].SortKeys);
            Assert.Equal(without[i].Ids, with[i].Ids);
            Assert.Equal(without[i].Count, with[i].Count);
        }
        // The automatic flag is kept with the schema.
        Assert.True(Assert.Single(await Store.LoadSchemasAsync(Ct), c => c.ClassName == "Deal").Indexes["auto_amount"].Automatic);
    }

    // ---- unique indexes -------------------------------------------------------------------------------

    private async Task<ClassSchema> Users()
    {
        var schema = SystemSchemas.All().Single(c => c.ClassName == "_User");
        await Store.SaveSchemaAsync(schema, Ct);
        return schema;
    }

    private static Task<ObjectWrite?> Set(StoredObject current, string field, JsonNode? value)
    {
        current.Data[field] = value;
        return Task.FromResult<ObjectWrite?>(new ObjectWrite(current, []));
    }

    [Fact]
    public async Task unique_indexes_reject_duplicates_case_insensitively_and_free_values_on_change_and_delete()
    {
        await Users();
        var alice = await Insert("_User", new JsonObject { ["username"] = "alice", ["email"] = "alice@example.com" });
        var dup = await Assert.ThrowsAsync<DuplicateKeyException>(() => Insert("_User", new JsonObject { ["username"] = "ALICE" }));
        Assert.Equal("username_unique", dup.IndexName);
        var dupMail = await Assert.ThrowsAsync<DuplicateKeyException>(() => Insert("_User", new JsonObject { ["username"] = "al", ["email"] = "Alice@Example.com" }));
        Assert.Equal("email_unique", dupMail.IndexName);
        // Missing values never collide.
        await Insert("_User", new JsonObject { ["username"] = "nomail1" });
        await Insert("_User", new JsonObject { ["username"] = "nomail2" });

        // Renaming onto a taken name fails; renaming away frees the old name.
        var bob = await Insert("_User", new JsonObject { ["username"] = "bob" });
        await Assert.ThrowsAsync<DuplicateKeyException>(() => Store.UpdateAsync("_User", bob.ObjectId, QueryNode.True, c => new ValueTask<ObjectWrite?>(Set(c, "username", "Alice")), Ct));
        await Store.UpdateAsync("_User", alice.ObjectId, QueryNode.True, c => new ValueTask<ObjectWrite?>(Set(c, "username", "alice2")), Ct);
        await Insert("_User", new JsonObject { ["username"] = "alice" });
        await Store.DeleteAsync("_User", bob.ObjectId, QueryNode.True, Ct);
        await Insert("_User", new JsonObject { ["username"] = "Bob" });
    }

    [Fact]
    public async Task concurrent_inserts_of_one_username_let_exactly_one_win()
    {
        await Users();
        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(async _ =>
        {
            try { await Insert("_User", new JsonObject { ["username"] = "race" }); return true; }
            catch (DuplicateKeyException) { return false; }
        }));
        Assert.Equal(1, results.Count(r => r));
        Assert.Equal(1, await Store.CountAsync("_User", QueryNode.True, Ct));
    }

    [Fact]
    public async Task concurrent_writes_are_each_stored_and_readable_once_they_return_and_a_refused_one_undoes_only_itself()
    {
        // On SQLite, writes queued for the single writer commit together: one write's refusal must not undo its
        // neighbours', and none may return before it is stored.
        var users = await Users();
        var counter = await Insert("_User", new JsonObject { ["username"] = "counter", ["n"] = 0 });
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 60).Select(i => Task.Run(async () =>
        {
            if (i % 3 == 1)
            {
                await Store.UpdateAsync("_User", counter.ObjectId, QueryNode.True,
                    c => new ValueTask<ObjectWrite?>(Set(c, "n", c.Data["n"]!.GetValue<double>() + 1)), Ct);
                return "incremented";
            }
            var name = i % 6 == 0 ? "taken" : $"user{i}";
            try
            {
                var user = await Insert("_User", new JsonObject { ["username"] = name });
                // Returned, so stored: a reader finds it at once.
                Assert.Equal([user.ObjectId], await Ids("_User", new CompareNode(F(users, "objectId"), CompareOp.Eq, new StringValue(user.ObjectId))));
                return name;
            }
            catch (DuplicateKeyException)
            {
                return "refused";
            }
        })));

        Assert.Equal(20, outcomes.Count(o => o == "incremented"));
        Assert.Equal(1, outcomes.Count(o => o == "taken"));
        Assert.Equal(9, outcomes.Count(o => o == "refused"));
        var names = (await Store.FindAsync(new StoreQuery("_User", QueryNode.True, [], 0, 100), Ct))
            .Select(u => u.Data["username"]!.GetValue<string>()).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(outcomes.Where(o => o is not ("incremented" or "refused")).Append("counter").Order(StringComparer.Ordinal), names);
        var final = Assert.Single(await Store.FindAsync(new StoreQuery("_User", new CompareNode(F(users, "objectId"), CompareOp.Eq, new StringValue(counter.ObjectId)), [], 0, 1), Ct));
        Assert.Equal(20, final.Data["n"]!.GetValue<double>());
    }

    // ---- relations and sub-queries --------------------------------------------------------------------

    [Fact]
    public async Task relations_are_stored_with_the_write_and_queried_by_related_to_and_contains()
    {
        var s = await Deals();
        await Schema("Contact", new() { ["name"] = new(FieldType.String) });
        var c1 = await Insert("Contact", new JsonObject { ["name"] = "c1" });
        var c2 = await Insert("Contact", new JsonObject { ["name"] = "c2" });
        var c3 = await Insert("Contact", new JsonObject { ["name"] = "c3" });
        var deal = await Insert("Deal", new JsonObject { ["title"] = "d" }, relations: [new RelationChange("contacts", "Contact", [c1.ObjectId, c2.ObjectId], true)]);
        var other = await Insert("Deal", new JsonObject { ["title"] = "e" }, relations: [new RelationChange("contacts", "Contact", [c3.ObjectId], true)]);

        SameSet([c1.ObjectId, c2.ObjectId], await Store.RelatedIdsAsync("Deal", deal.ObjectId, "contacts", Ct));
        SameSet([c1.ObjectId, c2.ObjectId], await Ids("Contact", new RelatedToNode("Deal", deal.ObjectId, "contacts")));
        SameSet([deal.ObjectId], await Ids("Deal", new RelationContainsNode(F(s, "contacts"), [c2.ObjectId], false)));
        SameSet([other.ObjectId], await Ids("Deal", new RelationContainsNode(F(s, "contacts"), [c1.ObjectId, c2.ObjectId], true)));

        await Store.UpdateAsync("Deal", deal.ObjectId, QueryNode.True, c => new ValueTask<ObjectWrite?>(new ObjectWrite(c, [new RelationChange("contacts", "Contact", [c1.ObjectId], false)])), Ct);
        SameSet([c2.ObjectId], await Store.RelatedIdsAsync("Deal", deal.ObjectId, "contacts", Ct));

        await Store.DeleteAsync("Deal", deal.ObjectId, QueryNode.True, Ct);
        Assert.Empty(await Store.RelatedIdsAsync("Deal", deal.ObjectId, "contacts", Ct));
    }

    [Fact]
    public async Task in_query_and_select_sub_queries_carry_their_own_restriction()
    {
        var s = await Deals();
        var companies = await Schema("Company", new() { ["name"] = new(FieldType.String), ["vip"] = new(FieldType.Boolean) });
        var vip = await Insert("Company", new JsonObject { ["name"] = "Acme", ["vip"] = true });
        var hiddenVip = await Insert("Company", new JsonObject { ["name"] = "Hidden", ["vip"] = true }, new JsonObject());
        var plain = await Insert("Company", new JsonObject { ["name"] = "Plain", ["vip"] = false });
        var d1 = await Insert("Deal", new JsonObject { ["company"] = PointerTo("Company", vip.ObjectId), ["title"] = "Plain" });
        var d2 = await Insert("Deal", new JsonObject { ["company"] = PointerTo("Company", hiddenVip.ObjectId), ["title"] = "x" });
        var d3 = await Insert("Deal", new JsonObject { ["company"] = PointerTo("Company", plain.ObjectId), ["title"] = "Acme" });

        var vipReadable = QueryNode.And(new CompareNode(F(companies, "vip"), CompareOp.Eq, new BoolValue(true)), new AclNode(["*"], false));
        SameSet([d1.ObjectId], await Ids("Deal", new InQueryNode(F(s, "company"), "Company", vipReadable, false)));
        SameSet([d2.ObjectId, d3.ObjectId], await Ids("Deal", new InQueryNode(F(s, "company"), "Company", vipReadable, true)));
        // $select: deal titles equal to some readable company's name.
        SameSet([d1.ObjectId, d3.ObjectId], await Ids("Deal", new SelectNode(F(s, "title"), "Company", new AclNode(["*"], false), F(companies, "name"), false)));
        SameSet([d2.ObjectId], await Ids("Deal", new SelectNode(F(s, "title"), "Company", new AclNode(["*"], false), F(companies, "name"), true)));
    }

    [Fact]
    public async Task a_sub_query_over_the_bound_is_a_clear_invalid_query_error()
    {
        // SQLite joins natively, so only stores that resolve sub-queries to id lists have a bound to test.
        if (SubqueryBound is not { } bound) return;
        var s = await Deals();
        var companies = await Schema("Company", new() { ["name"] = new(FieldType.String) });
        for (var i = 0; i <= bound; i++) await Insert("Company", new JsonObject { ["name"] = "c" + i });
        var error = await Assert.ThrowsAsync<ParseException>(() => Ids("Deal", new InQueryNode(F(s, "company"), "Company", QueryNode.True, false)));
        Assert.Equal(ParseError.InvalidQuery, error.Code);
        Assert.Contains("Narrow the sub-query", error.Message, StringComparison.Ordinal);
        _ = companies;
    }

    // ---- writes ---------------------------------------------------------------------------------------

    [Fact]
    public async Task fifty_parallel_increments_are_all_applied()
    {
        await Schema("Counter", new() { ["n"] = new(FieldType.Number) });
        var counter = await Insert("Counter", new JsonObject { ["n"] = 0 });
        await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(() => Store.UpdateAsync("Counter", counter.ObjectId, QueryNode.True, current =>
        {
            current.Data["n"] = current.Data["n"]!.GetValue<double>() + 1;
            return new ValueTask<ObjectWrite?>(new ObjectWrite(current, []));
        }, Ct))));
        var found = await Store.FindAsync(new StoreQuery("Counter", QueryNode.True, [], 0, 1), Ct);
        Assert.Equal(50, found.Single().Data["n"]!.GetValue<double>());
    }

    [Fact]
    public async Task update_and_delete_apply_only_when_the_restriction_matches()
    {
        await Deals();
        var deal = await Insert("Deal", new JsonObject { ["title"] = "t" }, Acl(("u1", true, true), ("u2", true, false)));
        var u2 = new AclNode(["*", "u2"], true);
        var u1 = new AclNode(["*", "u1"], true);

        Assert.Null(await Store.UpdateAsync("Deal", deal.ObjectId, u2, c => new ValueTask<ObjectWrite?>(Set(c, "title", "hacked")), Ct));
        Assert.Null(await Store.DeleteAsync("Deal", deal.ObjectId, u2, Ct));
        var updated = await Store.UpdateAsync("Deal", deal.ObjectId, u1, c => new ValueTask<ObjectWrite?>(Set(c, "title", "ok")), Ct);
        Assert.Equal("ok", updated!.Data["title"]!.GetValue<string>());
        Assert.NotEqual(deal.ETag, updated.ETag);
        Assert.Null(await Store.UpdateAsync("Deal", "missing", QueryNode.True, c => new ValueTask<ObjectWrite?>(Set(c, "title", "x")), Ct));

        var deleted = await Store.DeleteAsync("Deal", deal.ObjectId, u1, Ct);
        Assert.Equal("ok", deleted!.Data["title"]!.GetValue<string>());
        Assert.Empty(await Ids("Deal", QueryNode.True));
        Assert.Null(await Store.DeleteAsync("Deal", deal.ObjectId, QueryNode.True, Ct));
    }

    [Fact]
    public async Task inserting_an_existing_object_id_is_a_duplicate()
    {
        await Deals();
        var deal = Obj("Deal", new JsonObject { ["title"] = "a" }, id: "same");
        await Store.InsertAsync(deal, [], Ct);
        var again = Obj("Deal", new JsonObject { ["title"] = "b" }, id: "same");
        await Assert.ThrowsAsync<DuplicateKeyException>(() => Store.InsertAsync(again, [], Ct));
    }

    // ---- schema ---------------------------------------------------------------------------------------

    [Fact]
    public async Task schemas_persist_and_reload_and_field_deletion_removes_values()
    {
        var s = await Deals();
        var withIndex = s with { Indexes = s.Indexes.SetItem("stage_date", new IndexDefinition([("stage", 1), ("closeDate", -1)])) };
        await Store.SaveSchemaAsync(withIndex, Ct);
        var loaded = (await Store.LoadSchemasAsync(Ct)).Single(c => c.ClassName == "Deal");
        Assert.Equal(SchemaJson.Serialize(withIndex), SchemaJson.Serialize(loaded));

        await Schema("Contact", new() { ["name"] = new(FieldType.String) });
        var a = await Insert("Deal", new JsonObject { ["title"] = "a", ["stage"] = "lead" }, relations: [new RelationChange("contacts", "Contact", ["x1"], true)]);
        await Insert("Deal", new JsonObject { ["title"] = "b" });
        await Store.DeleteFieldAsync("Deal", "title", false, Ct);
        await Store.DeleteFieldAsync("Deal", "contacts", true, Ct);
        var all = await Store.FindAsync(new StoreQuery("Deal", QueryNode.True, [], 0, 10), Ct);
        Assert.All(all, o => Assert.False(o.Data.ContainsKey("title")));
        Assert.Equal("lead", all.Single(o => o.ObjectId == a.ObjectId).Data["stage"]!.GetValue<string>());
        Assert.Empty(await Store.RelatedIdsAsync("Deal", a.ObjectId, "contacts", Ct));
    }

    [Fact]
    public async Task purge_empties_a_class_and_frees_its_unique_values_and_drop_removes_it()
    {
        await Users();
        await Insert("_User", new JsonObject { ["username"] = "carol" });
        await Store.PurgeAsync("_User", Ct);
        Assert.Equal(0, await Store.CountAsync("_User", QueryNode.True, Ct));
        await Insert("_User", new JsonObject { ["username"] = "carol" });

        await Deals();
        await Store.DropClassAsync("Deal", Ct);
        Assert.DoesNotContain(await Store.LoadSchemasAsync(Ct), c => c.ClassName == "Deal");
        Assert.Empty(await Ids("Deal", QueryNode.True));
    }

    // ---- aggregate ----------------------------------------------------------------------------------

    private async Task<ClassSchema> AggregateDeals()
    {
        var deals = await Deals();
        JsonObject Deal(string? stage, double? amount, string close, string company)
        {
            var data = new JsonObject { ["closeDate"] = Date(close), ["company"] = new JsonObject { ["__type"] = "Pointer", ["className"] = "Company", ["objectId"] = company } };
            if (stage is not null) data["stage"] = stage;
            if (amount is not null) data["amount"] = amount;
            return data;
        }
        await Insert("Deal", Deal("won", 100, "2026-01-05T10:00:00.000Z", "c1"));
        await Insert("Deal", Deal("won", 250, "2026-02-05T11:00:00.000Z", "c2"));
        await Insert("Deal", Deal("lead", 10, "2026-02-06T12:00:00.000Z", "c1"));
        await Insert("Deal", Deal(null, null, "2026-03-07T13:00:00.000Z", "c1"));
        var text = await Insert("Deal", Deal("lead", null, "2026-03-08T14:00:00.000Z", "c2"));
        await Store.UpdateAsync("Deal", text.ObjectId, QueryNode.True, current =>
        {
            current.Data["amount"] = "not a number";
            return ValueTask.FromResult<ObjectWrite?>(new ObjectWrite(current, []));
        }, Ct);
        return deals;
    }

    private static string Texts(IEnumerable<JsonNode?> values) => string.Join(",", values.Select(v => v?.ToJsonString() ?? "null"));

    [Fact]
    public async Task aggregate_groups_by_a_field_with_sum_avg_min_max_count_ordered_by_an_accumulator()
    {
        var deals = await AggregateDeals();
        var rows = await Store.AggregateAsync(new AggregateQuery("Deal", QueryNode.True, [new GroupKeyPart(F(deals, "stage"))],
            [new Accumulator(AggregateOp.Sum, F(deals, "amount")), new Accumulator(AggregateOp.Avg, F(deals, "amount")), new Accumulator(AggregateOp.Count, null),
             new Accumulator(AggregateOp.Min, F(deals, "closeDate")), new Accumulator(AggregateOp.Max, F(deals, "amount"))],
            [new GroupOrder(null, 0, true)], 0, 100), Ct);
        Assert.Equal("\"won\",\"lead\",null", Texts(rows.Select(r => r.Key[0])));
        Assert.Equal([350.0, 10.0, 0.0], rows.Select(r => Num(r.Values[0])));
        Assert.Equal([175.0, 10.0], rows.Take(2).Select(r => Num(r.Values[1])));
        Assert.Null(rows[2].Values[1]);
        Assert.Equal([2.0, 2.0, 1.0], rows.Select(r => Num(r.Values[2])));
        Assert.Equal("\"2026-01-05T10:00:00.000Z\"", rows[0].Values[3]!.ToJsonString());
        // Max over a number and a string: the string sorts above numbers in both stores.
        Assert.Equal("\"not a number\"", rows[1].Values[4]!.ToJsonString());
    }

    [Fact]
    public async Task aggregate_groups_by_pointer_id_and_date_parts_with_where_skip_and_limit()
    {
        var deals = await AggregateDeals();
        var byCompany = await Store.AggregateAsync(new AggregateQuery("Deal",
            new CompareNode(F(deals, "stage"), CompareOp.Ne, new StringValue("won")), [new GroupKeyPart(F(deals, "company"))],
            [new Accumulator(AggregateOp.Count, null)], [new GroupOrder(0, null, false)], 0, 100), Ct);
        Assert.Equal("\"c1\",\"c2\"", Texts(byCompany.Select(r => r.Key[0])));
        Assert.Equal([2.0, 1.0], byCompany.Select(r => Num(r.Values[0])));

        var byMonthHour = await Store.AggregateAsync(new AggregateQuery("Deal", QueryNode.True,
            [new GroupKeyPart(F(deals, "closeDate"), DatePart.Month), new GroupKeyPart(F(deals, "createdAt"), DatePart.Year)],
            [new Accumulator(AggregateOp.Count, null)], [new GroupOrder(0, null, true)], 1, 1), Ct);
        var row = Assert.Single(byMonthHour);
        Assert.Equal("2,2026", Texts(row.Key));
        Assert.Equal(2.0, Num(row.Values[0]));
    }

    [Fact]
    public async Task aggregate_over_nothing_grouped_by_nothing_is_one_row_of_zero_and_a_missing_class_none()
    {
        var deals = await Deals();
        var rows = await Store.AggregateAsync(new AggregateQuery("Deal", QueryNode.True, [], [new Accumulator(AggregateOp.Count, null), new Accumulator(AggregateOp.Sum, F(deals, "amount"))], [], 0, 10), Ct);
        var row = Assert.Single(rows);
        Assert.Equal(0.0, Num(row.Values[0]));
        Assert.Empty(await Store.AggregateAsync(new AggregateQuery("NoSuchClass", QueryNode.True, [], [new Accumulator(AggregateOp.Count, null)], [], 0, 10), Ct));
    }

    private static double Num(JsonNode? node) => node is JsonValue v
        ? v.TryGetValue(out long l) ? l : v.TryGetValue(out double d) ? d : v.GetValue<System.Text.Json.JsonElement>().GetDouble()
        : double.NaN;
}

public sealed class SqliteStoreContractTests : StoreContractTests
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "crm-store-" + Guid.NewGuid().ToString("N"));

    private protected override IObjectStore CreateStore() => new global::Crm.Functions.Storage.Sqlite.SqliteObjectStore(Path.Combine(_folder, "crm.db"));

    private protected override int? SubqueryBound => null;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    [Fact]
    public async Task a_failing_unit_among_concurrent_writes_leaves_nothing_and_takes_nothing_of_theirs()
    {
        // Units share the writer's commit with plain writes queued beside them; a unit that fails after writing is
        // rolled back to where it joined, whoever commits the transaction afterwards.
        await Schema("Note", new() { ["text"] = new(FieldType.String) });
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(async () =>
        {
            if (i % 4 != 0)
            {
                var kept = await Insert("Note", new JsonObject { ["text"] = $"kept{i}" });
                return kept.ObjectId;
            }
            await Assert.ThrowsAsync<InvalidOperationException>(() => Store.TransactionAsync<bool>(async ct =>
            {
                await Store.InsertAsync(Obj("Note", new JsonObject { ["text"] = $"undone{i}" }), [], ct);
                await Store.SaveSchemaAsync(ClassSchema.Create($"Undone{i}", new Dictionary<string, FieldDefinition> { ["x"] = new(FieldType.String) }), ct);
                throw new InvalidOperationException("the unit fails after its writes");
            }, CancellationToken.None));
            return null;
        })));

        var stored = (await Store.FindAsync(new StoreQuery("Note", QueryNode.True, [], 0, 100), CancellationToken.None)).ToList();
        Assert.Equal(30, stored.Count);
        Assert.All(stored, note => Assert.StartsWith("kept", note.Data["text"]!.GetValue<string>(), StringComparison.Ordinal));
        SameSet(outcomes.OfType<string>(), stored.Select(n => n.ObjectId));
        Assert.DoesNotContain(await Store.LoadSchemasAsync(CancellationToken.None), c => c.ClassName.StartsWith("Undone", StringComparison.Ordinal));
        Assert.Equal(0, await Store.CountAsync("Undone0", QueryNode.True, CancellationToken.None));
    }

    private async Task<ClassSchema> FlexAsync(int rows)
    {
        var s = await Schema("Flex", new() { ["stage"] = new(FieldType.String), ["amount"] = new(FieldType.Number), ["owner"] = new(FieldType.Pointer, "_User") });
        for (var i = 0; i < rows; i++)
            await Insert("Flex", new JsonObject { ["stage"] = i % 2 == 0 ? "won" : "lead", ["amount"] = i, ["owner"] = PointerTo("_User", "u" + (i % 3)) }, Acl(("u" + (i % 3), true, true)));
        return s;
    }

    private static (QueryNode Where, List<SortKey> Order) MyDeals(ClassSchema s) => (
        QueryNode.And(new CompareNode(WhereParser.ResolveField("owner", s), CompareOp.Eq, new PointerValue("_User", "u1")),
            new InNode(WhereParser.ResolveField("stage", s), [new StringValue("won"), new StringValue("lead")], false), new AclNode(["*", "u1"], false)),
        [new(WhereParser.ResolveField("amount", s), true)]);

    private static QueryNode AmountRange(ClassSchema s) => QueryNode.And(
        new CompareNode(WhereParser.ResolveField("amount", s), CompareOp.Gte, new NumberValue(10)),
        new CompareNode(WhereParser.ResolveField("amount", s), CompareOp.Lt, new NumberValue(20)), new AclNode(["*", "u1"], false));

    /// <summary>
    /// SQLite uses an automatic index only if it is built on the very expressions the translator emits: the owner's
    /// pointer id and the amount serve "my records in these stages by amount, descending" without a sort, and the
    /// amount serves a range (what a count runs), testing the caller's read check on the index entries.
    /// </summary>
    [Fact]
    public async Task the_automatic_indexes_serve_the_owner_stage_query_by_amount_and_the_amount_range()
    {
        var s = await FlexAsync(30);
        var store = Assert.IsType<global::Crm.Functions.Storage.Sqlite.SqliteObjectStore>(Store);
        var (where, order) = MyDeals(s);
        Assert.Contains("SCAN", await store.ExplainAsync(new StoreQuery("Flex", where, order, 0, 50), CancellationToken.None), StringComparison.Ordinal);

        await Store.SaveSchemaAsync(s with
        {
            Indexes = s.Indexes.SetItem("auto_owner_amount_desc", new IndexDefinition([("owner", 1), ("amount", -1)], Automatic: true))
                .SetItem("auto_amount", new IndexDefinition([("amount", 1)], Automatic: true)),
        }, CancellationToken.None);

        var plan = await store.ExplainAsync(new StoreQuery("Flex", where, order, 0, 50), CancellationToken.None);
        Assert.Contains("USING INDEX ix_Flex__auto_owner_amount_desc", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("TEMP B-TREE", plan, StringComparison.Ordinal);
        var range = await store.ExplainAsync(new StoreQuery("Flex", AmountRange(s), [], 0, 50), CancellationToken.None);
        Assert.Contains("USING INDEX ix_Flex__auto_amount", range, StringComparison.Ordinal);
        Assert.DoesNotContain("SCAN", range, StringComparison.Ordinal);
        // The caller's read check is in the index too, so the rows of other owners in the range are never opened.
        await using (var file = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={store.FilePath};Mode=ReadOnly;Pooling=False"))
        {
            await file.OpenAsync();
            await using var read = file.CreateCommand();
            read.CommandText = "SELECT sql FROM sqlite_master WHERE name = 'ix_Flex__auto_amount'";
            Assert.EndsWith(", rperm)", (string)(await read.ExecuteScalarAsync())!, StringComparison.Ordinal);
        }
        Assert.Equal(4, await Store.CountAsync("Flex", AmountRange(s), CancellationToken.None));
    }

    /// <summary>The store reports the reads that stepped through a table scan, with the rows they visited, and no others.</summary>
    [Fact]
    public async Task reads_that_scan_are_reported_with_their_rows_and_indexed_ones_are_not()
    {
        var s = await FlexAsync(40);
        var store = Assert.IsType<global::Crm.Functions.Storage.Sqlite.SqliteObjectStore>(Store);
        var scans = new List<TableScan>();
        store.TableScanned += scans.Add;
        var (where, order) = MyDeals(s);

        Assert.Equal(13, (await Store.FindAsync(new StoreQuery("Flex", where, order, 0, 50), CancellationToken.None)).Count);
        Assert.Equal(4, await Store.CountAsync("Flex", AmountRange(s), CancellationToken.None));
        var id = (await Store.FindAsync(new StoreQuery("Flex", QueryNode.True, [], 0, 1), CancellationToken.None))[0].ObjectId;
        scans.Clear();
        await Store.FindAsync(new StoreQuery("Flex", new CompareNode(WhereParser.ResolveField("objectId", s), CompareOp.Eq, new StringValue(id)), [], 0, 1), CancellationToken.None);
        Assert.Empty(scans);

        await Store.FindAsync(new StoreQuery("Flex", where, order, 0, 50), CancellationToken.None);
        await Store.CountAsync("Flex", AmountRange(s), CancellationToken.None);
        Assert.Equal(2, scans.Count);
        // SQLite counts the steps from one row to the next: a scan of 40 rows takes 39.
        Assert.All(scans, scan => Assert.Equal(39, scan.RowsScanned));
        Assert.Same(where, scans[0].Where);
        Assert.Equal(order, scans[0].Order);
        Assert.Empty(scans[1].Order);

        await Store.SaveSchemaAsync(s with
        {
            Indexes = s.Indexes.SetItem("auto_owner_amount_desc", new IndexDefinition([("owner", 1), ("amount", -1)], Automatic: true))
                .SetItem("auto_amount", new IndexDefinition([("amount", 1)], Automatic: true)),
        }, CancellationToken.None);
        scans.Clear();
        Assert.Equal(13, (await Store.FindAsync(new StoreQuery("Flex", where, order, 0, 50), CancellationToken.None)).Count);
        Assert.Equal(4, await Store.CountAsync("Flex", AmountRange(s), CancellationToken.None));
        Assert.Empty(scans);
    }
}

public sealed class CosmosStoreContractTests : StoreContractTests
{
    private readonly string _database = "contract-" + Guid.NewGuid().ToString("N");

    private protected override IObjectStore CreateStore() => CosmosTestServer.Instance.CreateStore(_database, maxSubqueryResults: 20);

    private protected override int? SubqueryBound => 20;

    /// <summary>
    /// Cosmos-only by nature: SQLite's unique index lives in the same transaction, so it can never be left
    /// behind. Here a reservation whose holder is gone (a crash between "reserve" and "write") must not block
    /// the value forever once it is older than the grace period.
    /// </summary>
    [Fact]
    public async Task a_reservation_left_by_a_failed_write_is_taken_over()
    {
        var store = CosmosTestServer.Instance.CreateStore(_database, reservationGrace: TimeSpan.Zero);
        await store.InitializeAsync(CancellationToken.None);
        await store.SaveSchemaAsync(SystemSchemas.All().Single(c => c.ClassName == "_User"), CancellationToken.None);
        var first = Obj("_User", new JsonObject { ["username"] = "dave" });
        await store.InsertAsync(first, [], CancellationToken.None);
        // Simulate the crash: the object disappears but its reservation stays.
        using (var client = CosmosTestServer.Instance.CreateClient())
        using (await client.GetContainer(_database, "_User").DeleteItemStreamAsync(first.ObjectId, new Microsoft.Azure.Cosmos.PartitionKey(first.OwnerId))) { }
        var second = Obj("_User", new JsonObject { ["username"] = "Dave" });
        await store.InsertAsync(second, [], CancellationToken.None);
        // And a live holder is still respected.
        await Assert.ThrowsAsync<DuplicateKeyException>(() => store.InsertAsync(Obj("_User", new JsonObject { ["username"] = "DAVE" }), [], CancellationToken.None));
        await store.DisposeAsync();
    }

    /// <summary>
    /// Cosmos-only by nature: SQLite sorts by anything, Cosmos refuses a two-key ORDER BY that no composite index
    /// serves. The store then sorts a small result itself, with Cosmos's type order (missing first).
    /// </summary>
    [Fact]
    public async Task ordering_by_two_keys_without_a_composite_index_is_sorted_by_the_store()
    {
        var schema = await Schema("Ticket", new() { ["a"] = new(FieldType.String), ["b"] = new(FieldType.Number) });
        var x1 = await Insert("Ticket", new JsonObject { ["a"] = "x", ["b"] = 1 });
        var x2 = await Insert("Ticket", new JsonObject { ["a"] = "x", ["b"] = 2 });
        var y = await Insert("Ticket", new JsonObject { ["a"] = "y", ["b"] = 0 });
        var none = await Insert("Ticket", new JsonObject { ["b"] = 5 });
        var order = new[] { new SortKey(WhereParser.ResolveField("a", schema), false), new SortKey(WhereParser.ResolveField("b", schema), true) };
        Assert.Equal([none.ObjectId, x2.ObjectId, x1.ObjectId, y.ObjectId], await Ids("Ticket", QueryNode.True, order));
        Assert.Equal([x1.ObjectId, y.ObjectId], await Ids("Ticket", QueryNode.True, order, skip: 2, limit: 5));
    }

    /// <summary>The pipeline orderings are declared up front, so they work on a class with no declared indexes.</summary>
    [Fact]
    public async Task pipeline_orderings_are_served_by_the_declared_composite_indexes()
    {
        var schema = await Schema("Deal", new() { ["stage"] = new(FieldType.String), ["expectedCloseDate"] = new(FieldType.Date) });
        await Insert("Deal", new JsonObject { ["stage"] = "b", ["expectedCloseDate"] = new JsonObject { ["__type"] = "Date", ["iso"] = "2026-01-01T00:00:00.000Z" } });
        await Insert("Deal", new JsonObject { ["stage"] = "a", ["expectedCloseDate"] = new JsonObject { ["__type"] = "Date", ["iso"] = "2026-02-01T00:00:00.000Z" } });
        var stage = WhereParser.ResolveField("stage", schema);
        Assert.Equal(2, (await Ids("Deal", QueryNode.True, [new SortKey(stage, false), new SortKey(WhereParser.ResolveField("expectedCloseDate", schema), false)])).Count);
        Assert.Equal(2, (await Ids("Deal", QueryNode.True, [new SortKey(stage, false), new SortKey(WhereParser.ResolveField("updatedAt", schema), true)])).Count);
    }
}
