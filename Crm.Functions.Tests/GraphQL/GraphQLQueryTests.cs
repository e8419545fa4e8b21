using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.GraphQL;

/// <summary>Finds: the pipeline view (stage filter, order, Relay paging), activities by relatedTo, where operators.</summary>
public sealed class GraphQLQueryTests(CrmGraphQLFixture fixture) : IClassFixture<CrmGraphQLFixture>
{
    private const string PipelinePage = """
        query($stages: [String], $after: String) {
          deals(where: {stage: {in: $stages}}, order: [expectedCloseDate_ASC], first: 3, after: $after) {
            count
            pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
            edges { cursor node { title stage expectedCloseDate } }
          }
        }
        """;

    private static async Task<string> CreateDealAsync(GraphQLClient client, string title, string stage, string closeDate, double amount = 1000)
    {
        var data = (await client.SendAsync("""
            mutation($f: CreateDealFieldsInput!) { createDeal(input: {fields: $f}) { deal { id } } }
            """, new JsonObject { ["f"] = new JsonObject { ["title"] = title, ["stage"] = stage, ["expectedCloseDate"] = closeDate, ["amount"] = amount } })).Ok();
        return data["createDeal"]!["deal"]!["id"]!.GetValue<string>();
    }

    [Fact]
    public async Task pipeline_query_filters_by_stage_orders_by_close_date_and_pages_with_first_and_after()
    {
        var (client, _) = await fixture.UserAsync("pipe");
        using var _c = client;
        // Seven proposal/negotiation deals (inserted out of date order) and two others that must not appear.
        var days = new[] { 5, 2, 7, 1, 6, 3, 4 };
        for (var i = 0; i < days.Length; i++)
            await CreateDealAsync(client, $"P{days[i]}", i % 2 == 0 ? "proposal" : "negotiation", $"2031-03-{days[i]:00}T00:00:00.000Z");
        await CreateDealAsync(client, "W0", "won", "2031-01-01T00:00:00.000Z");
        await CreateDealAsync(client, "L0", "lost", "2031-01-01T00:00:00.000Z");

        var titles = new List<string>();
        string? after = null;
        var pages = 0;
        while (true)
        {
            var connection = (await client.SendAsync(PipelinePage, new JsonObject
            {
                ["stages"] = new JsonArray("proposal", "negotiation"), ["after"] = after,
            })).Ok()["deals"]!;
            pages++;
            Assert.Equal(7, connection["count"]!.GetValue<int>());
            var edges = connection["edges"]!.AsArray();
            titles.AddRange(edges.Select(e => e!["node"]!["title"]!.GetValue<string>()));
            Assert.All(edges, e => Assert.Contains(e!["node"]!["stage"]!.GetValue<string>(), new[] { "proposal", "negotiation" }));
            var pageInfo = connection["pageInfo"]!;
            Assert.Equal(pages > 1, pageInfo["hasPreviousPage"]!.GetValue<bool>());
            Assert.Equal(edges[^1]!["cursor"]!.GetValue<string>(), pageInfo["endCursor"]!.GetValue<string>());
            if (!pageInfo["hasNextPage"]!.GetValue<bool>()) break;
            after = pageInfo["endCursor"]!.GetValue<string>();
            Assert.True(pages < 10, "paging does not end");
        }
        Assert.Equal(3, pages);
        Assert.Equal(["P1", "P2", "P3", "P4", "P5", "P6", "P7"], titles);
    }

    [Fact]
    public async Task last_and_before_page_backwards_and_bad_paging_arguments_are_code_102()
    {
        var (client, _) = await fixture.UserAsync("back");
        using var _c = client;
        for (var d = 1; d <= 5; d++) await CreateDealAsync(client, $"B{d}", "qualified", $"2032-01-0{d}T00:00:00.000Z");
        const string Query = """
            query($last: Int, $before: String) { deals(where: {stage: {equalTo: "qualified"}}, order: [expectedCloseDate_ASC], last: $last, before: $before) {
              edges { node { title } } pageInfo { hasPreviousPage startCursor } } }
            """;
        var tail = (await client.SendAsync(Query, new JsonObject { ["last"] = 2 })).Ok()["deals"]!;
        Assert.Equal(["B4", "B5"], tail["edges"]!.AsArray().Select(e => e!["node"]!["title"]!.GetValue<string>()));
        var before = tail["pageInfo"]!["startCursor"]!.GetValue<string>();
        var previous = (await client.SendAsync(Query, new JsonObject { ["last"] = 2, ["before"] = before })).Ok()["deals"]!;
        Assert.Equal(["B2", "B3"], previous["edges"]!.AsArray().Select(e => e!["node"]!["title"]!.GetValue<string>()));

        (await client.SendAsync("""{ deals(first: -1) { count } }""")).ParseError(102);
        (await client.SendAsync("""{ deals(after: "not a cursor") { count } }""")).ParseError(102);
    }

    [Fact]
    public async Task activities_are_listed_by_the_contact_or_deal_they_relate_to()
    {
        var (client, _) = await fixture.UserAsync("act");
        using var _c = client;
        var dealId = await CreateDealAsync(client, "Related deal", "lead", "2033-01-01T00:00:00.000Z");
        var contactId = (await client.SendAsync("""mutation { createContact(input: {fields: {name: "Related contact"}}) { contact { id } } }"""))
            .Ok()["createContact"]!["contact"]!["id"]!.GetValue<string>();
        foreach (var (subject, target) in new[] { ("deal call", dealId), ("deal email", dealId), ("contact meeting", contactId) })
            (await client.SendAsync("""mutation($f: CreateActivityFieldsInput!) { createActivity(input: {fields: $f}) { activity { id } } }""",
                new JsonObject { ["f"] = new JsonObject { ["subject"] = subject, ["type"] = "call", ["relatedTo"] = new JsonObject { ["link"] = target } } })).Ok();

        const string ByTarget = """
            query($id: ID) { activities(where: {relatedTo: {equalTo: $id}}, order: [subject_ASC]) {
              count edges { node { subject relatedTo { __typename ... on Deal { title } ... on Contact { name } } } } } }
            """;
        var forDeal = (await client.SendAsync(ByTarget, new JsonObject { ["id"] = dealId })).Ok()["activities"]!;
        Assert.Equal(2, forDeal["count"]!.GetValue<int>());
        Assert.Equal(["deal call", "deal email"], forDeal["edges"]!.AsArray().Select(e => e!["node"]!["subject"]!.GetValue<string>()));
        Assert.All(forDeal["edges"]!.AsArray(), e => Assert.Equal("Related deal", e!["node"]!["relatedTo"]!["title"]!.GetValue<string>()));

        var forContact = (await client.SendAsync(ByTarget, new JsonObject { ["id"] = contactId })).Ok()["activities"]!;
        Assert.Equal("contact meeting", forContact["edges"]![0]!["node"]!["subject"]!.GetValue<string>());
        Assert.Equal("Contact", forContact["edges"]![0]!["node"]!["relatedTo"]!["__typename"]!.GetValue<string>());

        // A sub-filter on the pointed class: activities about deals titled "Related deal".
        var viaHave = (await client.SendAsync("""
            { activities(where: {relatedTo: {haveDeal: {title: {equalTo: "Related deal"}}}}) { count } }
            """)).Ok()["activities"]!;
        Assert.Equal(2, viaHave["count"]!.GetValue<int>());
    }

    [Fact]
    public async Task where_operators_combine_with_OR_regex_exists_and_pointer_have()
    {
        var (client, _) = await fixture.UserAsync("ops");
        using var _c = client;
        var tag = Wire.Unique("t");
        var company = (await client.SendAsync("""mutation($n: String!) { createCompany(input: {fields: {name: $n}}) { company { id } } }""",
            new JsonObject { ["n"] = "Co " + tag })).Ok()["createCompany"]!["company"]!["id"]!.GetValue<string>();
        await CreateDealAsync(client, $"{tag} small", "lead", "2034-01-01T00:00:00.000Z", 100);
        await CreateDealAsync(client, $"{tag} big", "lead", "2034-01-02T00:00:00.000Z", 50_000);
        (await client.SendAsync("""mutation($t: String!, $c: ID!) { createDeal(input: {fields: {title: $t, company: {link: $c}, amount: 700}}) { deal { id } } }""",
            new JsonObject { ["t"] = $"{tag} linked", ["c"] = company })).Ok();

        async Task<List<string>> Titles(string where)
        {
            var data = (await client.SendAsync("query($re: String) { deals(where: {AND: [{title: {matchesRegex: $re}}, " + where + "]}, order: [title_ASC]) { edges { node { title } } } }",
                new JsonObject { ["re"] = "^" + tag })).Ok();
            return data["deals"]!["edges"]!.AsArray().Select(e => e!["node"]!["title"]!.GetValue<string>()).ToList();
        }
        Assert.Equal([$"{tag} big"], await Titles("{amount: {greaterThan: 1000}}"));
        Assert.Equal([$"{tag} big", $"{tag} small"], await Titles("{OR: [{amount: {lessThan: 200}}, {amount: {greaterThanOrEqualTo: 50000}}]}"));
        Assert.Equal([$"{tag} linked"], await Titles("{company: {exists: true}}"));
        Assert.Equal([$"{tag} linked"], await Titles("{company: {have: {name: {equalTo: \"Co " + tag + "\"}}}}"));
        Assert.Equal([$"{tag} big", $"{tag} small"], await Titles("{company: {haveNot: {name: {equalTo: \"Co " + tag + "\"}}}}"));
        Assert.Equal([$"{tag} big", $"{tag} small"], await Titles("{amount: {notIn: [700]}}"));
        Assert.Equal([$"{tag} small"], await Titles("{title: {matchesRegex: \"SMALL$\", options: \"i\"}}"));
    }

    [Fact]
    public async Task count_alone_runs_no_result_query_and_only_counts()
    {
        var (client, _) = await fixture.UserAsync("cnt");
        using var _c = client;
        var data = (await client.SendAsync("""{ deals(where: {title: {equalTo: "nothing matches this"}}) { count } }""")).Ok();
        Assert.Equal(0, data["deals"]!["count"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync("{ companies { edges { node { name } } } }")).Status);
    }
}
