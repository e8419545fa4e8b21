using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Crm.Functions.Tests.GraphQL;

/// <summary>The GraphiQL page at GET /graphql: its assets come from the app, and a query run from it in a real browser returns data.</summary>
public sealed class GraphiQLPageTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

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
        var folder = NodeProject("browser");
        using var server = new CrmServer();
        using (var master = server.Client().AsMaster())
        {
            (await master.PostAsync("schemas/Note", new JsonObject { ["className"] = "Note", ["fields"] = new JsonObject { ["text"] = new JsonObject { ["type"] = "String" } } }))
                .EnsureStatus(HttpStatusCode.OK);
            (await master.PostAsync("classes/Note", new JsonObject { ["text"] = "Hello from GraphiQL" })).EnsureStatus(HttpStatusCode.Created);
        }

        var run = await RunNodeAsync(folder, "graphiql.mjs", new Dictionary<string, string>
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

    /// <summary>Crm.Functions.Tests/node/{name}, found from the repository root; fails (never skips) when not installed.</summary>
    private static string NodeProject(string name)
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Crm.Functions.sln"))) root = root.Parent;
        Assert.True(root is not null, $"No Crm.Functions.sln above {AppContext.BaseDirectory}.");
        var folder = Path.Combine(root.FullName, "Crm.Functions.Tests", "node", name);
        Assert.True(Directory.Exists(Path.Combine(folder, "node_modules")),
            $"{folder}/node_modules is missing: run ./scripts/test.sh from the repository root (it installs the npm packages, then runs the tests).");
        return folder;
    }

    private sealed record NodeRun(int ExitCode, string StdOut, string StdErr);

    private static async Task<NodeRun> RunNodeAsync(string folder, string script, IDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("node") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(script);
        foreach (var (key, value) in environment) start.Environment[key] = value;
        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            Assert.Fail($"Cannot start node ({e.Message}); Node.js must be on PATH.");
        }
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"node {script} did not finish within {Timeout}.\n--- stdout\n{await stdout}\n--- stderr\n{await stderr}");
        }
        return new NodeRun(process.ExitCode, await stdout, await stderr);
    }
}
