using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.CrmTemplate;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Search;

/// <summary>
/// Full-text search (<c>{"field": {"$text": {"$search": {"$term": …}}}}</c>) over REST, on whichever store the run uses
/// (SQLite's FTS5 index, or the Cosmos store's search copy): the same answers on both. Each test makes its own class.
/// </summary>
public sealed class TextSearchTests(FastServerFixture fixture) : IClassFixture<FastServerFixture>
{
    private readonly CrmServer _server = fixture.Server;

    private static JsonObject Text(string field, string term, JsonObject? options = null)
    {
        var search = new JsonObject { ["$term"] = term };
        foreach (var (k, v) in options ?? []) search[k] = v?.DeepClone();
        return new JsonObject { [field] = new JsonObject { ["$text"] = new JsonObject { ["$search"] = search } } };
    }

    /// <summary>A new class with these titles (one object each, master key); returns the ids by title.</summary>
    private static async Task<(string ClassName, Dictionary<string, string> Ids)> NotesAsync(ParseClient master, params string[] titles)
    {
        var className = Wire.Unique("Note");
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var title in titles)
            ids[title] = await master.CreateAsync(className, new JsonObject { ["title"] = title, ["body"] = "body of " + title, ["rank"] = ids.Count });
        return (className, ids);
    }

    private static async Task<List<string>> TitlesAsync(ParseClient client, string className, JsonObject where, string? extra = null)
    {
        var response = (await client.QueryAsync(className, where, extra)).EnsureStatus(HttpStatusCode.OK);
        return [.. response.Results.Select(r => r!["title"]!.GetValue<string>()).Order(StringComparer.Ordinal)];
    }

    [Fact]
    public async Task a_word_matches_the_words_it_begins_ignoring_case_and_diacritics()
    {
        using var master = _server.Client().AsMaster();
        var (cls, _) = await NotesAsync(master, "Acme renewal", "Café Olé contract", "RENEWALS for Globex", "Prerenewal audit", "Initech pilot");

        Assert.Equal(["Acme renewal", "RENEWALS for Globex"], await TitlesAsync(master, cls, Text("title", "renewal")));
        Assert.Equal(["Acme renewal", "RENEWALS for Globex"], await TitlesAsync(master, cls, Text("title", "Renew")));
        Assert.Equal(["Café Olé contract"], await TitlesAsync(master, cls, Text("title", "cafe")));
        Assert.Equal(["Café Olé contract"], await TitlesAsync(master, cls, Text("title", "OLÉ")));
        Assert.Empty(await TitlesAsync(master, cls, Text("title", "enewal")));
        Assert.Empty(await TitlesAsync(master, cls, Text("title", "zebra")));
    }

    [Fact]
    public async Task words_are_alternatives_quoted_phrases_are_required_and_a_minus_excludes()
    {
        using var master = _server.Client().AsMaster();
        var (cls, _) = await NotesAsync(master, "Acme big deal", "Acme small deal", "Globex big renewal", "big deal at Initech");

        Assert.Equal(["Acme big deal", "Acme small deal", "Globex big renewal"], await TitlesAsync(master, cls, Text("title", "acme globex")));
        Assert.Equal(["Acme big deal", "big deal at Initech"], await TitlesAsync(master, cls, Text("title", "\"big deal\"")));
        Assert.Equal(["Acme big deal"], await TitlesAsync(master, cls, Text("title", "\"big deal\" \"acme\"")));
        Assert.Equal(["Acme small deal", "Globex big renewal"], await TitlesAsync(master, cls, Text("title", "acme globex -\"big deal\"")));
        Assert.Equal(["Acme big deal", "Acme small deal"], await TitlesAsync(master, cls, Text("title", "acme -renewal")));
        // Exclusions alone match nothing (as MongoDB), and so does a term without words.
        Assert.Empty(await TitlesAsync(master, cls, Text("title", "-acme")));
        Assert.Empty(await TitlesAsync(master, cls, Text("title", " ,;- ")));
    }

    [Fact]
    public async Task order_by_score_puts_the_most_relevant_first_and_keys_score_returns_it()
    {
        using var master = _server.Client().AsMaster();
        var (cls, _) = await NotesAsync(master,
            "a long note that mentions the renewal only once among many other words",
            "Renewal",
            "renewal renewal plan",
            "nothing relevant here");

        var response = (await master.QueryAsync(cls, Text("title", "renewal"), "order=$score&keys=$score,title")).EnsureStatus(HttpStatusCode.OK);
        var titles = response.Results.Select(r => r!["title"]!.GetValue<string>()).ToList();
        Assert.Equal(["renewal renewal plan", "Renewal", "a long note that mentions the renewal only once among many other words"], titles);
        var scores = response.Results.Select(r => r!["score"]!.GetValue<double>()).ToList();
        Assert.True(scores[0] > scores[1] && scores[1] > scores[2] && scores[2] > 0, string.Join(", ", scores));
        Assert.All(response.Results, r => Assert.Null(r!["body"]));

        // "-$score" is still most relevant first (MongoDB's textScore sort has no direction); skip and limit page it.
        var page = (await master.QueryAsync(cls, Text("title", "renewal"), "order=-$score&skip=1&limit=1")).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal("Renewal", Assert.Single(page.Results)!["title"]!.GetValue<string>());
        Assert.Null(page.Results[0]!["score"]);

        // Without $text there is no relevance: the key is ignored, as before.
        (await master.QueryAsync(cls, null, "order=$score")).EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task text_combines_with_other_constraints_count_limit_skip_and_or()
    {
        using var master = _server.Client().AsMaster();
        var (cls, _) = await NotesAsync(master, "Acme one", "Acme two", "Acme three", "Globex four", "Initech five");

        var where = Text("title", "acme");
        where["rank"] = new JsonObject { ["$gte"] = 1 };
        Assert.Equal(["Acme three", "Acme two"], await TitlesAsync(master, cls, where));
        Assert.Equal(2, await master.CountAsync(cls, where));

        var ordered = (await master.QueryAsync(cls, Text("title", "acme"), "order=rank&skip=1&limit=1&count=1")).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal("Acme two", Assert.Single(ordered.Results)!["title"]!.GetValue<string>());
        Assert.Equal(3, ordered.Json!["count"]!.GetValue<long>());

        var either = new JsonObject { ["$or"] = new JsonArray(Text("title", "globex"), new JsonObject { ["title"] = "Initech five" }) };
        Assert.Equal(["Globex four", "Initech five"], await TitlesAsync(master, cls, either));
        var nor = new JsonObject { ["$nor"] = new JsonArray(Text("title", "acme")) };
        Assert.Equal(["Globex four", "Initech five"], await TitlesAsync(master, cls, nor));
        // Two fields, each with its own index.
        var both = Text("title", "acme");
        both["body"] = Text("body", "three")["body"]!.DeepClone();
        Assert.Equal(["Acme three"], await TitlesAsync(master, cls, both));
    }

    [Fact]
    public async Task the_index_is_made_on_first_use_and_follows_creates_updates_and_deletes()
    {
        using var master = _server.Client().AsMaster();
        var (cls, ids) = await NotesAsync(master, "Acme renewal", "Globex pilot");

        Assert.Equal(["Acme renewal"], await TitlesAsync(master, cls, Text("title", "acme")));
        var schema = (await master.GetAsync($"schemas/{cls}")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Equal("text", schema["indexes"]!["title_text"]!["title"]!.GetValue<string>());

        var added = await master.CreateAsync(cls, new JsonObject { ["title"] = "Acme expansion" });
        (await master.PutAsync($"classes/{cls}/{ids["Globex pilot"]}", new JsonObject { ["title"] = "Acme pilot" })).EnsureStatus(HttpStatusCode.OK);
        (await master.PutAsync($"classes/{cls}/{ids["Acme renewal"]}", new JsonObject { ["title"] = "Hooli renewal" })).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal(["Acme expansion", "Acme pilot"], await TitlesAsync(master, cls, Text("title", "acme")));
        Assert.Equal(["Hooli renewal"], await TitlesAsync(master, cls, Text("title", "renewal")));

        (await master.DeleteAsync($"classes/{cls}/{added}")).EnsureStatus(HttpStatusCode.OK);
        (await master.PutAsync($"classes/{cls}/{ids["Acme renewal"]}", new JsonObject { ["title"] = new JsonObject { ["__op"] = "Delete" } }))
            .EnsureStatus(HttpStatusCode.OK);
        Assert.Equal(["Acme pilot"], await TitlesAsync(master, cls, Text("title", "acme")));
        Assert.Empty(await TitlesAsync(master, cls, Text("title", "hooli")));
        // Changing another field leaves the index as it was.
        (await master.PutAsync($"classes/{cls}/{ids["Globex pilot"]}", new JsonObject { ["rank"] = 9 })).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal(["Acme pilot"], await TitlesAsync(master, cls, Text("title", "pilot")));
    }

    [Fact]
    public async Task deleting_the_field_drops_its_index_and_a_new_field_of_that_name_starts_clean()
    {
        using var master = _server.Client().AsMaster();
        var (cls, ids) = await NotesAsync(master, "Acme renewal", "Globex pilot");
        Assert.Single(await TitlesAsync(master, cls, Text("title", "acme")));

        (await master.PutAsync($"schemas/{cls}", new JsonObject { ["fields"] = new JsonObject { ["title"] = new JsonObject { ["__op"] = "Delete" } } }))
            .EnsureStatus(HttpStatusCode.OK);
        var schema = (await master.GetAsync($"schemas/{cls}")).Json!;
        Assert.Null(schema["indexes"]?["title_text"]);

        (await master.PutAsync($"classes/{cls}/{ids["Globex pilot"]}", new JsonObject { ["title"] = "Initech pilot" })).EnsureStatus(HttpStatusCode.OK);
        var response = (await master.QueryAsync(cls, Text("title", "acme"))).EnsureStatus(HttpStatusCode.OK);
        Assert.Empty(response.Results);
        Assert.Equal(["Initech pilot"], await TitlesAsync(master, cls, Text("title", "initech")));
    }

    [Fact]
    public async Task dropping_the_class_drops_its_index_and_a_new_class_of_that_name_starts_clean()
    {
        using var master = _server.Client().AsMaster();
        var (cls, ids) = await NotesAsync(master, "Acme renewal");
        Assert.Single(await TitlesAsync(master, cls, Text("title", "acme")));
        (await master.DeleteAsync($"classes/{cls}/{ids["Acme renewal"]}")).EnsureStatus(HttpStatusCode.OK);
        (await master.DeleteAsync($"schemas/{cls}")).EnsureStatus(HttpStatusCode.OK);

        await master.CreateAsync(cls, new JsonObject { ["title"] = "Globex renewal" });
        Assert.Equal(["Globex renewal"], await TitlesAsync(master, cls, Text("title", "renewal")));
        Assert.Empty(await TitlesAsync(master, cls, Text("title", "acme")));
    }

    [Fact]
    public async Task a_text_index_can_be_declared_in_the_schema()
    {
        using var master = _server.Client().AsMaster();
        var cls = Wire.Unique("Note");
        (await master.PostAsync($"schemas/{cls}", new JsonObject
        {
            ["fields"] = new JsonObject { ["title"] = new JsonObject { ["type"] = "String" }, ["rank"] = new JsonObject { ["type"] = "Number" } },
            ["indexes"] = new JsonObject { ["search_title"] = new JsonObject { ["title"] = "text" } },
        })).EnsureStatus(HttpStatusCode.OK);
        await master.CreateAsync(cls, new JsonObject { ["title"] = "Acme renewal" });
        Assert.Equal(["Acme renewal"], await TitlesAsync(master, cls, Text("title", "acme")));
        var schema = (await master.GetAsync($"schemas/{cls}")).Json!;
        Assert.Equal("text", schema["indexes"]!["search_title"]!["title"]!.GetValue<string>());
        Assert.Null(schema["indexes"]!["title_text"]);

        // One String field per text index.
        (await master.PutAsync($"schemas/{cls}", new JsonObject { ["indexes"] = new JsonObject { ["bad"] = new JsonObject { ["rank"] = "text" } } })).EnsureError(102);
        (await master.PutAsync($"schemas/{cls}", new JsonObject { ["indexes"] = new JsonObject { ["again"] = new JsonObject { ["title"] = "text" } } })).EnsureError(102);
    }

    [Theory]
    [InlineData("""{"title":{"$text":{}}}""", 107)]
    [InlineData("""{"title":{"$text":{"$search":"acme"}}}""", 107)]
    [InlineData("""{"title":{"$text":{"$search":{}}}}""", 107)]
    [InlineData("""{"title":{"$text":{"$search":{"$term":7}}}}""", 107)]
    [InlineData("""{"title":{"$text":{"$search":{"$term":"a","$language":1}}}}""", 107)]
    [InlineData("""{"title":{"$text":{"$search":{"$term":"a","$caseSensitive":"yes"}}}}""", 107)]
    [InlineData("""{"title":{"$text":{"$search":{"$term":"a","$caseSensitive":true}}}}""", 107)]
    [InlineData("""{"title":{"$text":{"$search":{"$term":"a","$diacriticSensitive":true}}}}""", 107)]
    [InlineData("""{"title":{"$text":{"$search":{"$term":"a","$fuzzy":true}}}}""", 107)]
    [InlineData("""{"title.x":{"$text":{"$search":{"$term":"a"}}}}""", 102)]
    public async Task malformed_text_queries_are_parse_errors(string where, int code)
    {
        using var master = _server.Client().AsMaster();
        var (cls, _) = await NotesAsync(master, "Acme renewal");
        (await master.GetAsync($"classes/{cls}?where={Uri.EscapeDataString(where)}")).EnsureError(code);
    }

    [Fact]
    public async Task the_false_options_and_a_language_are_accepted_and_fields_without_text_match_nothing()
    {
        using var master = _server.Client().AsMaster();
        var (cls, _) = await NotesAsync(master, "Acme renewal");
        var options = new JsonObject { ["$language"] = "en", ["$caseSensitive"] = false, ["$diacriticSensitive"] = false };
        Assert.Equal(["Acme renewal"], await TitlesAsync(master, cls, Text("title", "acme", options)));
        Assert.Empty(await TitlesAsync(master, cls, Text("rank", "0")));
        Assert.Empty(await TitlesAsync(master, cls, Text("nosuchfield", "acme")));
        var longTerm = string.Join(' ', Enumerable.Range(0, 40).Select(i => "w" + i));
        (await master.QueryAsync(cls, Text("title", longTerm))).EnsureError(102);
    }

    [Fact]
    public async Task text_on_a_protected_field_is_refused_like_any_other_constraint_on_it()
    {
        using var master = _server.Client().AsMaster();
        var cls = Wire.Unique("Note");
        (await master.PostAsync($"schemas/{cls}", new JsonObject
        {
            ["fields"] = new JsonObject { ["title"] = new JsonObject { ["type"] = "String" }, ["secret"] = new JsonObject { ["type"] = "String" } },
            ["classLevelPermissions"] = new JsonObject
            {
                ["find"] = new JsonObject { ["*"] = true }, ["get"] = new JsonObject { ["*"] = true }, ["count"] = new JsonObject { ["*"] = true },
                ["protectedFields"] = new JsonObject { ["*"] = new JsonArray("secret") },
            },
        })).EnsureStatus(HttpStatusCode.OK);
        await master.CreateAsync(cls, new JsonObject { ["title"] = "Acme renewal", ["secret"] = "launch codes" });

        using var anonymous = _server.Client();
        (await anonymous.QueryAsync(cls, Text("secret", "launch"))).EnsureError(119);
        (await anonymous.QueryAsync(cls, new JsonObject { ["$or"] = new JsonArray(Text("secret", "launch")) })).EnsureError(119);
        Assert.Equal(["Acme renewal"], await TitlesAsync(anonymous, cls, Text("title", "acme")));
        Assert.Equal(["Acme renewal"], await TitlesAsync(master, cls, Text("secret", "launch")));
    }

    [Fact]
    public async Task text_in_a_sub_query_searches_the_other_class()
    {
        using var master = _server.Client().AsMaster();
        var (companies, ids) = await NotesAsync(master, "Acme Corporation", "Globex Inc");
        var deals = Wire.Unique("Deal");
        foreach (var (name, id) in ids)
            await master.CreateAsync(deals, new JsonObject { ["title"] = "Deal with " + name, ["company"] = Wire.PointerTo(companies, id) });
        var where = new JsonObject { ["company"] = new JsonObject { ["$inQuery"] = new JsonObject { ["className"] = companies, ["where"] = Text("title", "corp") } } };
        Assert.Equal(["Deal with Acme Corporation"], await TitlesAsync(master, deals, where));
    }
}

/// <summary>$text under the CRM template: object ACLs and CLPs narrow a search exactly as any other query.</summary>
public sealed class TextSearchAccessTests(TemplateServerFixture fixture) : IClassFixture<TemplateServerFixture>
{
    private readonly CrmServer _server = fixture.Server;

    private static JsonObject Text(string field, string term) =>
        new() { [field] = new JsonObject { ["$text"] = new JsonObject { ["$search"] = new JsonObject { ["$term"] = term } } } };

    [Fact]
    public async Task a_search_finds_only_the_records_the_caller_may_read()
    {
        var (alice, _, _) = await _server.UserAsync("alice");
        var (bob, _, _) = await _server.UserAsync("bob");
        var marker = Wire.Unique("zq").ToLowerInvariant();
        await Tools.CreateAsync(alice, "Deal", new JsonObject { ["title"] = $"{marker} renewal for Acme", ["amount"] = 100 });
        await Tools.CreateAsync(bob, "Deal", new JsonObject { ["title"] = $"{marker} pilot for Globex", ["amount"] = 200 });

        var mine = (await alice.QueryAsync("Deal", Text("title", marker), "count=1")).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal($"{marker} renewal for Acme", Assert.Single(mine.Results)!["title"]!.GetValue<string>());
        Assert.Equal(1, mine.Json!["count"]!.GetValue<long>());
        Assert.Equal(1, await bob.CountAsync("Deal", Text("title", marker)));

        using var anonymous = _server.Client();
        (await anonymous.QueryAsync("Deal", Text("title", marker))).EnsureError(101);
        using var master = _server.Client().AsMaster();
        Assert.Equal(2, await master.CountAsync("Deal", Text("title", marker)));
    }
}
