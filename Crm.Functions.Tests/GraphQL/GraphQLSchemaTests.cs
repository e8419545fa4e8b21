using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.GraphQL;

/// <summary>The generated schema: introspection, regeneration after /schemas changes, the query limits and the error format.</summary>
public sealed class GraphQLSchemaTests(CrmGraphQLFixture fixture) : IClassFixture<CrmGraphQLFixture>
{
    /// <summary>The query GraphiQL and most tools send (abridged only in whitespace from graphql-js's getIntrospectionQuery).</summary>
    private const string IntrospectionQuery = """
        query IntrospectionQuery {
          __schema {
            queryType { name } mutationType { name } subscriptionType { name }
            types { ...FullType }
            directives { name description locations args { ...InputValue } }
          }
        }
        fragment FullType on __Type {
          kind name description
          fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
          inputFields { ...InputValue }
          interfaces { ...TypeRef }
          enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
          possibleTypes { ...TypeRef }
        }
        fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
        fragment TypeRef on __Type {
          kind name
          ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
        }
        """;

    [Fact]
    public async Task the_full_introspection_query_describes_the_crm_types_with_parse_names()
    {
        // Introspection is the master key's unless GraphQL:PublicIntrospection opens it.
        using var client = new GraphQLClient(fixture.Server).AsMaster();
        var schema = (await client.SendAsync(IntrospectionQuery)).Ok()["__schema"]!;
        var types = schema["types"]!.AsArray().ToDictionary(t => t!["name"]!.GetValue<string>(), t => t!);
        foreach (var name in new[] { "Deal", "DealConnection", "DealEdge", "DealWhereInput", "DealOrder", "CreateDealFieldsInput", "User", "Company", "Contact", "Activity", "ContactOrDeal", "Node", "PageInfo", "Date" })
            Assert.True(types.ContainsKey(name), $"type {name} is missing");

        var deal = types["Deal"]["fields"]!.AsArray().ToDictionary(f => f!["name"]!.GetValue<string>(), f => f!["type"]!);
        Assert.Equal("NON_NULL", deal["title"]["kind"]!.GetValue<string>());
        Assert.Equal("Float", deal["amount"]["name"]!.GetValue<string>());
        Assert.Equal("Company", deal["company"]["name"]!.GetValue<string>());
        Assert.Equal("User", deal["assignedTo"]["name"]!.GetValue<string>());
        Assert.Contains("ACL", deal.Keys);
        Assert.Equal(["Node", "ParseObject"], types["Deal"]["interfaces"]!.AsArray().Select(i => i!["name"]!.GetValue<string>()).Order());
        Assert.Equal("UNION", types["ContactOrDeal"]["kind"]!.GetValue<string>());
        Assert.Equal(["Contact", "Deal"], types["ContactOrDeal"]["possibleTypes"]!.AsArray().Select(i => i!["name"]!.GetValue<string>()).Order());
        var order = types["DealOrder"]["enumValues"]!.AsArray().Select(v => v!["name"]!.GetValue<string>()).ToList();
        Assert.Contains("expectedCloseDate_ASC", order);
        Assert.Contains("updatedAt_DESC", order);

        var queries = types["Query"]["fields"]!.AsArray().Select(f => f!["name"]!.GetValue<string>()).ToList();
        Assert.Superset(new HashSet<string> { "deal", "deals", "company", "companies", "activity", "activities", "user", "users", "viewer", "node", "health" }, queries.ToHashSet());
        var mutations = types["Mutation"]["fields"]!.AsArray().Select(f => f!["name"]!.GetValue<string>()).ToList();
        Assert.Superset(new HashSet<string> { "createDeal", "updateDeal", "deleteDeal", "createActivity", "signUp", "logIn", "logOut" }, mutations.ToHashSet());
    }

    [Fact]
    public async Task a_field_added_through_schemas_appears_in_graphql_without_a_restart()
    {
        using var server = new CrmServer();
        await CrmClasses.CreateAsync(server);
        using var master = new GraphQLClient(server).AsMaster();
        const string DealFields = """{ __type(name: "Deal") { fields { name } } }""";
        static List<string> Names(JsonNode data) => data["__type"]!["fields"]!.AsArray().Select(f => f!["name"]!.GetValue<string>()).ToList();
        Assert.DoesNotContain("probability", Names((await master.SendAsync(DealFields)).Ok()));

        using var rest = server.Client().AsMaster();
        (await rest.PutAsync("schemas/Deal", new JsonObject { ["className"] = "Deal", ["fields"] = new JsonObject { ["probability"] = new JsonObject { ["type"] = "Number" } } }))
            .EnsureStatus(HttpStatusCode.OK);

        Assert.Contains("probability", Names((await master.SendAsync(DealFields)).Ok()));
        var created = (await master.SendAsync("""mutation { createDeal(input: {fields: {title: "p", probability: 0.4}}) { deal { probability } } }""")).Ok();
        Assert.Equal(0.4, created["createDeal"]!["deal"]!["probability"]!.GetValue<double>());
        var filtered = (await master.SendAsync("""{ deals(where: {probability: {greaterThan: 0.3}}, order: [probability_DESC]) { count } }""")).Ok();
        Assert.Equal(1, filtered["deals"]!["count"]!.GetValue<int>());

        // A new class gets its queries too.
        (await rest.PostAsync("schemas/Ticket", new JsonObject { ["className"] = "Ticket", ["fields"] = new JsonObject { ["summary"] = new JsonObject { ["type"] = "String" } } }))
            .EnsureStatus(HttpStatusCode.OK);
        Assert.Equal(0, (await master.SendAsync("{ tickets { count } }")).Ok()["tickets"]!["count"]!.GetValue<int>());
    }

    [Fact]
    public async Task queries_nested_deeper_than_the_limit_are_rejected_before_running()
    {
        using var client = new GraphQLClient(fixture.Server).AsMaster();
        // Pointer chains can nest without end (deal → contact → company → createdBy → …): the depth limit stops them.
        var deep = "{ deals { edges { node { contact { company { createdBy { objectId } } } } } } }";
        (await client.SendAsync(deep)).Ok();
        using var strict = new CrmServer(new Dictionary<string, string?> { ["GraphQL:MaxDepth"] = "5" });
        await CrmClasses.CreateAsync(strict);
        using var strictClient = new GraphQLClient(strict).AsMaster();
        var rejected = await strictClient.SendAsync(deep);
        Assert.Equal(HttpStatusCode.BadRequest, rejected.Status);
        Assert.Null(rejected.Data);
        Assert.True(rejected.Errors![0]!["message"]!.GetValue<string>().Contains("depth", StringComparison.OrdinalIgnoreCase), rejected.Raw);
        Assert.Equal("GRAPHQL_VALIDATION_FAILED", rejected.Errors[0]!["extensions"]!["code"]!.GetValue<string>());
        Assert.True((await strictClient.SendAsync("{ health }")).Ok()["health"]!.GetValue<bool>());
    }

    [Fact]
    public async Task queries_above_the_complexity_limit_are_rejected_with_a_clear_error()
    {
        using var server = new CrmServer(new Dictionary<string, string?> { ["GraphQL:MaxComplexity"] = "500" });
        await CrmClasses.CreateAsync(server);
        using var client = new GraphQLClient(server).AsMaster();
        (await client.SendAsync("{ deals(first: 10) { edges { node { title amount } } } }")).Ok();
        // Lists inside lists multiply: 100 deals × 100 activities is refused before any query runs.
        var heavy = "{ deals(first: 100) { edges { node { title contact { name } } } } activities(first: 100) { edges { node { subject relatedTo { ... on Deal { title company { name createdBy { username } } } } } } } }";
        var rejected = await client.SendAsync(heavy);
        Assert.Equal(HttpStatusCode.BadRequest, rejected.Status);
        Assert.Contains("complexity", rejected.Errors![0]!["message"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task malformed_requests_get_graphql_errors_never_a_500()
    {
        using var client = new GraphQLClient(fixture.Server);
        var syntax = await client.SendAsync("{ deals { ");
        Assert.Equal(HttpStatusCode.BadRequest, syntax.Status);
        Assert.Equal("GRAPHQL_PARSE_FAILED", syntax.Errors![0]!["extensions"]!["code"]!.GetValue<string>());

        var unknown = await client.SendAsync("{ nope }");
        Assert.Equal(HttpStatusCode.BadRequest, unknown.Status);
        Assert.Equal("GRAPHQL_VALIDATION_FAILED", unknown.Errors![0]!["extensions"]!["code"]!.GetValue<string>());

        foreach (var body in new[] { "not json", "[1,2]", "{\"query\": 5}", "{}", "", "{\"query\":\"{ health }\",\"variables\":\"x\"}" })
        {
            var response = await client.PostRawAsync(body, "application/json");
            Assert.True(response.Status is HttpStatusCode.BadRequest or HttpStatusCode.OK, $"{body} → {(int)response.Status} {response.Raw}");
            Assert.NotNull(response.Json?["errors"] ?? response.Json?["data"]);
        }

        var badDate = await client.SendAsync("""query($d: Date) { deals(where: {expectedCloseDate: {lessThan: $d}}) { count } }""", new JsonObject { ["d"] = "yesterday" });
        Assert.Equal(HttpStatusCode.BadRequest, badDate.Status);
        var badId = await client.SendAsync("""{ node(id: "@@@") { id } }""");
        Assert.Equal(HttpStatusCode.OK, badId.Status);
        badId.ParseError(101);
        // ID also takes integer literals; they are ids like any other (here: of nothing).
        (await client.SendAsync("""{ user(id: 12345) { objectId } }""")).ParseError(101);
    }

    [Fact]
    public async Task queries_run_over_get_but_mutations_do_not()
    {
        using var client = new GraphQLClient(fixture.Server);
        var get = await client.GetAsync("/graphql?query=" + Uri.EscapeDataString("{ health }"));
        Assert.True(get.Ok()["health"]!.GetValue<bool>());
        var mutation = await client.GetAsync("/graphql?query=" + Uri.EscapeDataString("mutation { logOut { ok } }"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, mutation.Status);
        Assert.NotNull(mutation.Errors);
    }
}
