using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.CrmTemplate;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Docs;

/// <summary>The self-describing API: every document comes from the live schema and is checked by a tool that did not produce it.</summary>
public sealed class DocsTests
{
    private static async Task<string> GetTextAsync(CrmServer server, string path, bool asMaster = false)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, server.BaseUrl + path);
        if (asMaster)
        {
            request.Headers.Add("X-Parse-Application-Id", CrmServer.AppId);
            request.Headers.Add("X-Parse-Master-Key", CrmServer.MasterKey);
        }
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    [Fact]
    public async Task generated_erd_parses_with_mermaid_and_lists_every_class_and_relation()
    {
        using var server = Tools.TemplateServer();
        using var master = server.Client().AsMaster();
        (await master.PutAsync("schemas/Deal", new JsonObject
        {
            ["fields"] = new JsonObject { ["partner"] = new JsonObject { ["type"] = "Pointer", ["targetClass"] = "Company" } },
        })).EnsureStatus(HttpStatusCode.OK);

        var run = await Tools.NodeAsync("mermaid", "parse-erd.mjs", server.BaseUrl + "/docs/erd.mmd");
        Assert.True(run.ExitCode == 0, run.ToString());
        var parsed = JsonNode.Parse(run.StdOut)!;
        Assert.Equal("er", parsed["type"]!.GetValue<string>());
        var entities = parsed["entities"]!.AsArray().Select(e => e!.GetValue<string>()).ToHashSet();
        Assert.Superset(new HashSet<string> { "_User", "Company", "Contact", "Deal", "Activity" }, entities);
        var relations = parsed["relationships"]!.AsArray().Select(r => $"{r!["from"]} -> {r["to"]} ({r["role"]})").ToHashSet();
        string[] expected =
        [
            "Company -> Contact (company)", "Company -> Deal (company)", "Contact -> Deal (contact)", "_User -> Deal (assignedTo)",
            "_User -> Activity (createdBy)", "Contact -> Activity (relatedTo)", "Deal -> Activity (relatedTo)",
            "_User -> Company (createdBy)", "_User -> Contact (createdBy)", "_User -> Deal (createdBy)",
            "Company -> Deal (partner)", // added through /schemas a moment ago
        ];
        foreach (var relation in expected) Assert.Contains(relation, relations);
    }

    [Fact]
    public async Task erd_page_renders_the_diagram_with_the_bundled_mermaid_in_a_browser()
    {
        using var server = Tools.TemplateServer();
        var run = await Tools.NodeAsync("mermaid", "erd-page.mjs", server.BaseUrl);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("all checks passed", run.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task a_field_added_or_described_through_schemas_appears_in_every_document_at_once()
    {
        using var server = Tools.TemplateServer();
        using var master = server.Client().AsMaster();
        (await master.PutAsync("schemas/Contact", new JsonObject
        {
            ["fields"] = new JsonObject
            {
                ["linkedinUrl"] = new JsonObject { ["type"] = "String", ["description"] = "Public profile <address>" },
                ["phone"] = new JsonObject { ["type"] = "String", ["description"] = "Direct line, with country code" },
            },
        })).EnsureStatus(HttpStatusCode.OK);

        Assert.Contains("String linkedinUrl", await GetTextAsync(server, "/docs/erd.mmd"), StringComparison.Ordinal);
        var markdown = await GetTextAsync(server, "/docs/dictionary.md");
        Assert.Contains("| linkedinUrl | String | no | Public profile <address> |", markdown, StringComparison.Ordinal);
        Assert.Contains("| phone | String | no | Direct line, with country code |", markdown, StringComparison.Ordinal);
        var html = await GetTextAsync(server, "/docs/dictionary");
        Assert.Contains("Public profile &lt;address&gt;", html, StringComparison.Ordinal); // descriptions are encoded, never markup
        var document = JsonNode.Parse(await GetTextAsync(server, "/docs/schema.json"))!;
        var contact = document["classes"]!.AsArray().Single(c => c!["className"]!.GetValue<string>() == "Contact")!;
        Assert.Equal("Direct line, with country code", contact["fields"]!["phone"]!["description"]!.GetValue<string>());
        var openApi = JsonNode.Parse(await GetTextAsync(server, "/docs/openapi.json"))!;
        Assert.Equal("string", openApi["components"]!["schemas"]!["Contact"]!["properties"]!["linkedinUrl"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task openapi_document_validates_as_openapi_3_1()
    {
        using var server = Tools.TemplateServer();
        var run = await Tools.NodeAsync("openapi", "validate.mjs", server.BaseUrl + "/docs/openapi.json");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("valid", run.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task openapi_create_examples_are_accepted_by_the_server_and_read_back_unchanged()
    {
        using var server = Tools.TemplateServer();
        var (client, _, _) = await server.UserAsync();
        var openApi = JsonNode.Parse(await GetTextAsync(server, "/docs/openapi.json"))!;
        var tried = 0;
        foreach (var (path, item) in openApi["paths"]!.AsObject())
        {
            // Application classes only: POST /classes/_User is sign-up, tried below through /users; paths without a create
            // (an object's history) have no example to try.
            if (!path.StartsWith("/classes/", StringComparison.Ordinal) || path.EndsWith('}') || path.StartsWith("/classes/_", StringComparison.Ordinal)
                || item!["post"] is null) continue;
            var example = item!["post"]!["requestBody"]!["content"]!["application/json"]!["examples"]!["example"]!["value"]!.AsObject();
            var created = await client.PostAsync(path.TrimStart('/'), example.DeepClone());
            Assert.True(created.Status == HttpStatusCode.Created, $"POST {path} with its example: {created.Raw}");
            var read = (await client.GetAsync($"{path.TrimStart('/')}/{created.Json!["objectId"]}")).EnsureStatus(HttpStatusCode.OK).Json!;
            foreach (var (field, value) in example)
                Assert.True(JsonNode.DeepEquals(value, read[field]), $"{path}: {field} was {value?.ToJsonString()}, read back {read[field]?.ToJsonString()}");
            tried++;
        }
        Assert.Equal(4, tried);

        // The sign-up example works too.
        var signUp = openApi["paths"]!["/users"]!["post"]!["requestBody"]!["content"]!["application/json"]!["examples"]!["example"]!["value"]!;
        using var anonymous = server.Client();
        (await anonymous.PostAsync("users", signUp.DeepClone())).EnsureStatus(HttpStatusCode.Created);
    }

    [Fact]
    public async Task playground_page_loads_offline_and_logs_in_from_the_page()
    {
        using var server = Tools.TemplateServer();
        using (var client = server.Client())
            await client.SignUpAsync("alice", "demo-password");
        var run = await Tools.NodeAsync("openapi", "playground.mjs", server.BaseUrl);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("all checks passed", run.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task schema_export_then_import_into_an_empty_server_round_trips()
    {
        var folder = Tools.NewFolder();
        try
        {
            string exported;
            using (var source = Tools.TemplateServer())
            {
                using var master = source.Client().AsMaster();
                (await master.PutAsync("schemas/Deal", new JsonObject
                {
                    ["fields"] = new JsonObject { ["region"] = new JsonObject { ["type"] = "String", ["description"] = "Sales region" } },
                })).EnsureStatus(HttpStatusCode.OK);
                exported = await GetTextAsync(source, "/docs/schema.json", asMaster: true);
            }
            var file = Path.Combine(folder, "schema.json");
            await File.WriteAllTextAsync(file, exported);

            // The CLI writes into a data folder that has never seen the template.
            var import = await Tools.CliAsync(folder, "schema", "import", file, "--Crm:ApplyTemplate=false");
            Assert.True(import.ExitCode == 0, import.ToString());
            Assert.Contains("created class Deal", import.StdOut, StringComparison.Ordinal);

            var export = await Tools.CliAsync(folder, "schema", "export", "--format", "json", "--Crm:ApplyTemplate=false");
            Assert.True(export.ExitCode == 0, export.ToString());
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(exported), JsonNode.Parse(export.StdOut)), export.StdOut);

            using var target = new CrmServer(new Dictionary<string, string?> { ["Parse:DataFolder"] = folder });
            Assert.Equal(exported, await GetTextAsync(target, "/docs/schema.json", asMaster: true));

            var again = await Tools.CliAsync(folder, "schema", "import", file, "--Crm:ApplyTemplate=false");
            Assert.True(again.ExitCode == 0, again.ToString());
            Assert.Contains("nothing to change", again.StdOut, StringComparison.Ordinal);

            foreach (var format in new[] { "mermaid", "markdown" })
            {
                var other = await Tools.CliAsync(folder, "schema", "export", "--format", format, "--Crm:ApplyTemplate=false");
                Assert.True(other.ExitCode == 0, other.ToString());
                Assert.Contains("region", other.StdOut, StringComparison.Ordinal);
            }
        }
        finally
        {
            Tools.DeleteFolder(folder);
        }
    }
}
