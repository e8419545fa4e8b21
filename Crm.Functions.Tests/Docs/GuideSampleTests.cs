using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Crm.Functions.Tests.CrmTemplate;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Docs;

/// <summary>
/// The guides of docs/guides cannot rot: every code block they mark as a sample must equal a region of a file under
/// docs/guides/samples, and each of those files runs here against a started server — the JavaScript one compiled with
/// tsc over the generated TypeScript models, the .NET one built with the .NET SDK, the REST one with bash and curl, the
/// GraphQL operations one by one.
/// </summary>
public sealed partial class GuideSampleTests
{
    private static readonly string Root = FindRoot();
    private static readonly string GuidesFolder = Path.Combine(Root, "docs", "guides");
    private static readonly string SamplesFolder = Path.Combine(GuidesFolder, "samples");

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Crm.Functions.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("no Crm.Functions.sln above the test binaries");
    }

    [GeneratedRegex(@"<!-- sample: ([^#\s]+)#([\w-]+) -->\n```(\w*)\n((?:[\s\S]*?\n)??)```")]
    private static partial Regex SampleBlock();

    /// <summary>The lines between "// #region NAME" (or "# #region NAME") and the next "#endregion", less their common indent.</summary>
    private static string Region(string samplePath, string name)
    {
        var lines = File.ReadAllLines(Path.Combine(SamplesFolder, samplePath));
        var start = Array.FindIndex(lines, l => Regex.IsMatch(l, $@"^\s*(//|#) #region {Regex.Escape(name)}$"));
        Assert.True(start >= 0, $"samples/{samplePath} has no region '{name}'");
        var end = Array.FindIndex(lines, start + 1, l => Regex.IsMatch(l, @"^\s*(//|#) #endregion$"));
        var body = lines[(start + 1)..end];
        var indent = body.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart(' ').Length);
        return string.Join('\n', body.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart(' ')));
    }

    private static IEnumerable<(string Guide, string Path, string Region, string Quoted)> Quotes() =>
        Directory.GetFiles(GuidesFolder, "*.md").SelectMany(file => SampleBlock().Matches(File.ReadAllText(file).ReplaceLineEndings("\n"))
            .Select(m => (Path.GetFileName(file), m.Groups[1].Value, m.Groups[2].Value, m.Groups[4].Value.TrimEnd('\n'))));

    private static readonly string[] Stacks = ["react", "nextjs", "vue", "angular", "node", "react-native", "dotnet", "rest", "graphql", "flutter", "android", "ios"];

    [Fact]
    public void every_quoted_sample_equals_its_region_in_the_sample_files()
    {
        var quotes = Quotes().ToList();
        Assert.True(quotes.Count >= 80, $"only {quotes.Count} quoted samples");
        foreach (var (guide, path, region, quoted) in quotes)
            Assert.True(quoted == Region(path, region),
                $"{guide} quotes samples/{path}#{region}, which has changed: run `node scripts/sync-guides.mjs`.\n--- expected\n{Region(path, region)}\n--- quoted\n{quoted}");
    }

    [Fact]
    public void every_stack_has_a_guide_covering_the_whole_path_and_unrunnable_ones_say_so_at_the_top()
    {
        foreach (var stack in Stacks) Assert.True(File.Exists(Path.Combine(GuidesFolder, stack + ".md")), $"no guide for {stack}");
        var index = File.ReadAllText(Path.Combine(GuidesFolder, "README.md"));
        foreach (var stack in Stacks) Assert.Contains($"]({stack}.md)", index, StringComparison.Ordinal);

        var quoted = Quotes().GroupBy(q => q.Guide).ToDictionary(g => g.Key, g => g.Select(q => q.Region).ToHashSet());
        string[] path = ["connect", "sign-up", "log-in", "restore", "pipeline", "create-deal", "activities", "live", "errors", "files"];
        foreach (var js in new[] { "react", "nextjs", "vue", "angular", "node", "react-native" })
            Assert.Superset(new HashSet<string>([.. path, "offline"]), quoted[js + ".md"]);
        Assert.Superset(new HashSet<string>(path), quoted["dotnet.md"]);
        Assert.Superset(new HashSet<string> { "setup", "sign-up", "log-in", "restore", "pipeline", "create-deal", "activities", "errors", "files" }, quoted["rest.md"]);
        Assert.Superset(new HashSet<string> { "sign-up", "log-in", "restore", "pipeline", "create-deal", "activities", "log-out" }, quoted["graphql.md"]);

        foreach (var stack in new[] { "flutter", "android", "ios" })
        {
            var text = File.ReadAllText(Path.Combine(GuidesFolder, stack + ".md"));
            Assert.Contains("> **Not run here.**", text.Split("\n## ")[0], StringComparison.Ordinal);
            foreach (var topic in new[] { "## Install and initialise", "## Sign up, log in, log out, restore", "## The pipeline", "## Create and move a deal",
                         "## Activities of a contact or a deal", "## Live updates", "## Offline", "## Errors", "## Files" })
                Assert.Contains(topic, text, StringComparison.Ordinal);
        }
    }

    private static string NewUser(string prefix) => prefix + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task the_javascript_sample_compiles_over_the_generated_models_and_runs_every_step()
    {
        using var server = Tools.TemplateServer();
        var project = Tools.NodeProject("models");
        var work = Path.Combine(project, "guide");
        if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
        Directory.CreateDirectory(work);
        foreach (var file in Directory.GetFiles(Path.Combine(SamplesFolder, "js"), "*.ts")) File.Copy(file, Path.Combine(work, Path.GetFileName(file)));
        using (var http = new HttpClient())
            await File.WriteAllTextAsync(Path.Combine(work, "models.ts"), await http.GetStringAsync(server.BaseUrl + "/docs/models/typescript?import=parse/node"));

        var compiled = await Tools.RunAsync("node", project, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.guide.json"], new Dictionary<string, string>());
        Assert.True(compiled.ExitCode == 0, compiled.ToString());
        var run = await Tools.RunAsync("node", project, ["build/guide/run.js", server.ParseUrl, CrmServer.AppId, NewUser("js")], new Dictionary<string, string>());
        Assert.True(run.ExitCode == 0, run.ToString());

        var seen = JsonNode.Parse(run.StdOut.Trim().Split('\n')[^1])!;
        Assert.Equal(seen["signedUp"]!.GetValue<string>(), seen["restored"]!.GetValue<string>());
        Assert.Equal(["Fleet renewal", "Pilot"], Strings(seen["column"])); // created 30 days out, in that order
        Assert.True(seen["contactIncluded"]!.GetValue<bool>());
        Assert.Equal(["Fleet renewal", "Pilot"], Strings(seen["pinned"]));
        Assert.Equal(["Kick-off call"], Strings(seen["dealActivities"]));
        Assert.Equal(["Intro call"], Strings(seen["contactActivities"]));
        Assert.Equal(["enter:Fleet renewal", "enter:Pilot"], Strings(seen["events"]));
        Assert.Equal("not found, or not yours to see", seen["notFound"]!.GetValue<string>());
        Assert.Equal("signed out: log in again", seen["invalidSession"]!.GetValue<string>());
        Assert.EndsWith("_proposal.pdf", seen["fileName"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("%PDF-1.4 sample", seen["downloaded"]!.GetValue<string>());
    }

    private static string[] Strings(JsonNode? array) => [.. array!.AsArray().Select(n => n!.GetValue<string>())];

    [Fact]
    public async Task the_rest_sample_runs_with_bash_and_curl()
    {
        using var server = Tools.TemplateServer();
        var run = await Tools.RunAsync("bash", SamplesFolder, [Path.Combine(SamplesFolder, "rest", "crm.sh")], new Dictionary<string, string>
        {
            ["SERVER_URL"] = server.ParseUrl,
            ["APP_ID"] = CrmServer.AppId,
            ["USERNAME"] = NewUser("rest"),
        });
        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = run.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);

        var deal = lines["deal"];
        var pipeline = JsonNode.Parse(lines["pipeline"])!["results"]!.AsArray();
        Assert.Equal(deal, Assert.Single(pipeline)!["objectId"]!.GetValue<string>());
        Assert.Equal("qualified", pipeline[0]!["stage"]!.GetValue<string>());
        Assert.Equal("Ada Lovelace", pipeline[0]!["contact"]!["name"]!.GetValue<string>()); // include=contact
        var activity = Assert.Single(JsonNode.Parse(lines["activities"])!["results"]!.AsArray())!;
        Assert.Equal(deal, activity["relatedTo"]!["objectId"]!.GetValue<string>());
        Assert.Equal("""{"code":101,"error":"Object not found."} 404""", lines["notFound"]);
        Assert.Equal("%PDF-1.4 sample", lines["downloaded"]);

        using var master = server.Client().AsMaster();
        var me = await master.GetAsync($"users/{lines["me"]}");
        me.EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task the_graphql_operations_run_in_the_guides_order()
    {
        using var server = Tools.TemplateServer();
        var document = await File.ReadAllTextAsync(Path.Combine(SamplesFolder, "graphql", "crm.graphql"));
        using var client = new GraphQLClient(server);
        async Task<JsonNode> Run(string operation, JsonObject variables)
        {
            var body = new JsonObject { ["query"] = document, ["operationName"] = operation, ["variables"] = variables };
            return (await client.PostRawAsync(body.ToJsonString(), "application/json")).Ok();
        }

        var username = NewUser("gql");
        var signedUp = await Run("SignUp", new JsonObject { ["username"] = username, ["password"] = "Guide-sample-1", ["email"] = username + "@example.com" });
        client.SessionToken = signedUp["signUp"]!["viewer"]!["sessionToken"]!.GetValue<string>();
        await Run("LogOut", []);
        client.SessionToken = null;
        var loggedIn = await Run("LogIn", new JsonObject { ["username"] = username, ["password"] = "Guide-sample-1" });
        client.SessionToken = loggedIn["logIn"]!["viewer"]!["sessionToken"]!.GetValue<string>();
        Assert.Equal(username, (await Run("Me", []))["viewer"]!["user"]!["username"]!.GetValue<string>());

        var contact = (await Run("CreateContact", new JsonObject { ["name"] = "Ada Lovelace" }))["createContact"]!["contact"]!["id"]!.GetValue<string>();
        var deal = (await Run("CreateDeal", new JsonObject { ["title"] = "Fleet renewal", ["amount"] = 12000, ["contact"] = contact }))["createDeal"]!["deal"]!;
        Assert.Equal("lead", deal["stage"]!.GetValue<string>());
        var moved = await Run("MoveDeal", new JsonObject { ["id"] = deal["id"]!.GetValue<string>(), ["stage"] = "qualified" });
        Assert.Equal("qualified", moved["updateDeal"]!["deal"]!["stage"]!.GetValue<string>());

        var pipeline = (await Run("Pipeline", new JsonObject { ["stage"] = "qualified" }))["deals"]!;
        Assert.Equal(1, pipeline["count"]!.GetValue<int>());
        var node = pipeline["edges"]![0]!["node"]!;
        Assert.Equal("Fleet renewal", node["title"]!.GetValue<string>());
        Assert.Equal("Ada Lovelace", node["contact"]!["name"]!.GetValue<string>());

        await Run("LogCall", new JsonObject { ["target"] = deal["id"]!.GetValue<string>(), ["subject"] = "Kick-off call" });
        var activities = (await Run("ActivitiesFor", new JsonObject { ["target"] = deal["id"]!.GetValue<string>() }))["activities"]!["edges"]!.AsArray();
        var activity = Assert.Single(activities)!["node"]!;
        Assert.Equal("Kick-off call", activity["subject"]!.GetValue<string>());
        Assert.Equal("Deal", activity["relatedTo"]!["__typename"]!.GetValue<string>());
        Assert.Equal("Fleet renewal", activity["relatedTo"]!["title"]!.GetValue<string>());

        Assert.True((await Run("LogOut", []))["logOut"]!["ok"]!.GetValue<bool>());
    }

    [Fact]
    public async Task the_dotnet_sample_builds_and_runs_every_step_with_signalr()
    {
        using var server = Tools.TemplateServer();
        // Outside the repository: a stand-alone client, untouched by this repository's build settings.
        var folder = Tools.NewFolder();
        try
        {
            foreach (var file in new[] { "CrmClient.csproj", "Program.cs" })
                File.Copy(Path.Combine(SamplesFolder, "dotnet", file), Path.Combine(folder, file));
            using (var http = new HttpClient())
                await File.WriteAllTextAsync(Path.Combine(folder, "Models.cs"), await http.GetStringAsync(server.BaseUrl + "/docs/models/csharp"));

            var built = await Tools.RunAsync("dotnet", folder, ["build", "-c", "Release", "-nologo", "-v", "q"], new Dictionary<string, string>());
            Assert.True(built.ExitCode == 0, built.ToString());
            var run = await Tools.RunAsync("dotnet", folder, [Path.Combine("bin", "Release", "net10.0", "CrmClient.dll"), server.BaseUrl, CrmServer.AppId, NewUser("net")],
                new Dictionary<string, string>());
            Assert.True(run.ExitCode == 0, run.ToString());

            var seen = JsonNode.Parse(run.StdOut.Trim().Split('\n')[^1])!;
            Assert.StartsWith("net", seen["me"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Equal(["Fleet renewal"], Strings(seen["column"]));
            Assert.Equal("Qualified", seen["stage"]!.GetValue<string>());
            Assert.Equal(["Kick-off call"], Strings(seen["activities"]));
            Assert.Equal(["created:Fleet renewal", "updated:qualified"], Strings(seen["events"]));
            Assert.Equal("101", seen["notFound"]!.GetValue<string>());
            Assert.Equal("%PDF-1.4 sample", seen["downloaded"]!.GetValue<string>());
        }
        finally
        {
            Tools.DeleteFolder(folder);
        }
    }

    [Fact]
    public async Task the_guides_are_served_under_docs_as_html()
    {
        using var server = Tools.TemplateServer();
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using (var redirect = await http.GetAsync(server.BaseUrl + "/docs/guides"))
        {
            Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
            Assert.Equal("guides/", redirect.Headers.Location!.OriginalString);
        }
        var index = await http.GetStringAsync(server.BaseUrl + "/docs/guides/");
        foreach (var stack in Stacks) Assert.Contains($"href=\"{stack}\"", index, StringComparison.Ordinal);

        var react = await http.GetStringAsync(server.BaseUrl + "/docs/guides/react");
        Assert.Contains("<h1", react, StringComparison.Ordinal);
        Assert.Contains("registerModels(); // queries and pointers now return Deal", react, StringComparison.Ordinal);
        Assert.DoesNotContain("sample: js/crm.ts", react, StringComparison.Ordinal); // the markers are for the tests, not the reader

        using var missing = await http.GetAsync(server.BaseUrl + "/docs/guides/cobol");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(102, JsonNode.Parse(await missing.Content.ReadAsStringAsync())!["code"]!.GetValue<int>());
    }
}
