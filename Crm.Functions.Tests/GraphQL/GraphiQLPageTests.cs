using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.CrmTemplate;
using Crm.Functions.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Crm.Functions.Tests.GraphQL;

/// <summary>The GraphiQL page at GET /graphql: its assets come from the app, and a query run from it in a real browser returns data.</summary>
public sealed class GraphiQLPageTests(ITestOutputHelper output)
{
    [Fact]
    public async Task browsers_get_the_graphiql_page_and_its_assets_from_the_server()
    {
        using var server = new CrmServer();
        using var client = new GraphQLClient(server) { AppId = null };
        var page = await client.GetAsync("/graphql", accept: "text/html");
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Equal("text/html", page.MediaType);
        Assert.Contains("/graphql/assets/graphiql.min.js", page.Raw, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", page.Raw, StringComparison.Ordinal);

        using var http = new HttpClient(new HttpClientHandler { AutomaticDecompression = DecompressionMethods.None });
        foreach (var asset in new[] { "graphiql.min.js", "graphiql.min.css", "react.production.min.js", "react-dom.production.min.js", "graphiql-init.js" })
        {
            using var response = await http.GetAsync($"{server.BaseUrl}/graphql/assets/{asset}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(text.Length > 500, $"{asset} is only {text.Length} characters");
        }
        using var missing = await http.GetAsync($"{server.BaseUrl}/graphql/assets/secrets.json");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task a_query_run_from_graphiql_in_headless_chromium_returns_data()
    {
        var folder = Tools.NodeProject("browser");
        // GraphiQL introspects on load; anonymous introspection is refused unless the setting opens it.
        using var server = new CrmServer(new Dictionary<string, string?> { ["GraphQL:PublicIntrospection"] = "true" });
        using (var master = server.Client().AsMaster())
        {
            (await master.PostAsync("schemas/Note", new JsonObject { ["className"] = "Note", ["fields"] = new JsonObject { ["text"] = new JsonObject { ["type"] = "String" } } }))
                .EnsureStatus(HttpStatusCode.OK);
            (await master.PostAsync("classes/Note", new JsonObject { ["text"] = "Hello from GraphiQL" })).EnsureStatus(HttpStatusCode.Created);
        }

        var run = await Tools.RunAsync("node", folder, ["graphiql.mjs"], new Dictionary<string, string>
        {
            ["GRAPHQL_URL"] = server.BaseUrl + "/graphql",
            ["GRAPHQL_QUERY"] = "{ notes { count edges { node { text } } } }",
            ["EXPECT"] = "Hello from GraphiQL",
        });
        output.WriteLine(run.StdOut);
        if (run.StdErr.Length > 0) output.WriteLine(run.StdErr);
        Assert.True(run.ExitCode == 0, $"node graphiql.mjs exited with {run.ExitCode}\n--- stdout\n{run.StdOut}\n--- stderr\n{run.StdErr}");
        Assert.Contains("all checks passed", run.StdOut, StringComparison.Ordinal);
    }
}
