using System.Net;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Issue 17 item 1: introspection fields cost no complexity, so an anonymous document of 1,000 aliased
/// <c>__schema</c> fields answered 105 MB and grew the process by ~1 GB. Introspection is now the master key's
/// (unless GraphQL:PublicIntrospection), one per document, aliases and fields are capped, and so is the answer.
/// </summary>
public sealed class GraphQLIntrospectionAmplificationTests
{
    private const string Schema = "__schema { types { name fields { name args { name } type { name ofType { name } } } } }";

    private static void AssertRefused(GraphQLResponse response, int code, string? mentions = null)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Null(response.Data);
        var error = Assert.Single(response.Errors!);
        Assert.Equal(code, error!["extensions"]!["code"]!.GetValue<int>());
        if (mentions is not null) Assert.Contains(mentions, error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task anonymous_introspection_is_refused_unless_the_setting_opens_it()
    {
        using var server = new CrmServer();
        using var anonymous = new GraphQLClient(server);
        AssertRefused(await anonymous.SendAsync("{ " + Schema + " }"), 119, "GraphQL:PublicIntrospection");
        AssertRefused(await anonymous.SendAsync("""{ __type(name: "Query") { name } }"""), 119);
        // __typename is not introspection of the schema: unions need it, and it stays everyone's.
        Assert.Equal("Query", (await anonymous.SendAsync("{ __typename }")).Ok()["__typename"]!.GetValue<string>());

        using var master = new GraphQLClient(server).AsMaster();
        Assert.NotEmpty((await master.SendAsync("{ " + Schema + " }")).Ok()["__schema"]!["types"]!.AsArray());

        using var open = new CrmServer(new Dictionary<string, string?> { ["GraphQL:PublicIntrospection"] = "true" });
        using var openAnonymous = new GraphQLClient(open);
        Assert.NotEmpty((await openAnonymous.SendAsync("{ " + Schema + " }")).Ok()["__schema"]!["types"]!.AsArray());
    }

    [Fact]
    public async Task a_document_of_a_thousand_aliased_schemas_is_refused_before_it_runs()
    {
        using var server = new CrmServer(new Dictionary<string, string?> { ["GraphQL:PublicIntrospection"] = "true" });
        using var anonymous = new GraphQLClient(server);
        var thousand = "{ " + string.Join(' ', Enumerable.Range(0, 1000).Select(i => $"a{i}: {Schema}")) + " }";
        AssertRefused(await anonymous.SendAsync(thousand), 102);
        AssertRefused(await anonymous.SendAsync("""{ a: __type(name: "Query") { name } b: __type(name: "Deal") { name } }"""), 102, "at most one");

        var aliases = "{ " + string.Join(' ', Enumerable.Range(0, 51).Select(i => $"h{i}: health")) + " }";
        AssertRefused(await anonymous.SendAsync(aliases), 102, "GraphQL:MaxAliases");
        var fields = "{ " + string.Join(' ', Enumerable.Range(0, 501).Select(_ => "health")) + " }";
        AssertRefused(await anonymous.SendAsync(fields), 102, "GraphQL:MaxFields");

        using var rest = server.Client();
        (await rest.GetAsync("health")).EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task an_answer_larger_than_the_cap_is_refused_with_a_parse_error()
    {
        using var server = new CrmServer(new Dictionary<string, string?> { ["GraphQL:MaxResponseBytes"] = "4096" });
        using var master = new GraphQLClient(server).AsMaster();
        AssertRefused(await master.SendAsync("{ " + Schema + " }"), 102, "GraphQL:MaxResponseBytes");
        Assert.Equal("Query", (await master.SendAsync("{ __typename }")).Ok()["__typename"]!.GetValue<string>());
    }
}
