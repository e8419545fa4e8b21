using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.CrmTemplate;
using Crm.Functions.Tests.Infrastructure;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Crm.Functions.Tests.Mcp;

/// <summary>
/// The MCP door driven by the official C# SDK client (ModelContextProtocol's McpClient over its streamable HTTP
/// transport) against the real server with the CRM template: who may call, what each tool returns to whom, and that
/// the tool list follows the live schema.
/// </summary>
public sealed class McpTests(McpTests.TemplateFixture fixture) : IClassFixture<McpTests.TemplateFixture>
{
    public sealed class TemplateFixture : IDisposable
    {
        public CrmServer Server { get; } = Tools.TemplateServer();
        public void Dispose() => Server.Dispose();
    }

    private CrmServer Server => fixture.Server;

    internal static async Task<McpClient> ConnectAsync(CrmServer server, string bearer)
    {
        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(server.BaseUrl + "/mcp"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + bearer },
        });
        return await McpClient.CreateAsync(transport);
    }

    internal static async Task<JsonObject> CallAsync(McpClient client, string tool, JsonObject? args = null)
    {
        var result = await client.CallToolAsync(tool, Arguments(args));
        Assert.True(result.IsError != true, $"{tool} failed: {Text(result)}");
        Assert.IsType<TextContentBlock>(result.Content[0]);
        return Structured(result);
    }

    /// <summary>A tool call the server refuses with a Parse error; returns its code.</summary>
    internal static async Task<int> RefusedAsync(McpClient client, string tool, JsonObject args)
    {
        var result = await client.CallToolAsync(tool, Arguments(args));
        Assert.True(result.IsError == true, $"{tool} was expected to fail: {Text(result)}");
        return Structured(result)["code"]!.GetValue<int>();
    }

    private static Dictionary<string, object?> Arguments(JsonObject? args) =>
        (args ?? []).ToDictionary(p => p.Key, p => (object?)JsonSerializer.Deserialize<JsonElement>(p.Value!.ToJsonString()));

    private static JsonObject Structured(CallToolResult result) =>
        JsonNode.Parse(JsonSerializer.Serialize(result.StructuredContent))!.AsObject();

    private static string Text(CallToolResult result) => string.Join("\n", result.Content.OfType<TextContentBlock>().Select(c => c.Text));

    private static async Task<string> DealAsync(ParseClient owner, string title, double amount, string stage, DateTime? close = null)
    {
        var body = new JsonObject { ["title"] = title, ["amount"] = amount, ["stage"] = stage };
        if (close is { } date) body["expectedCloseDate"] = Wire.Date(date.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
        return await Tools.CreateAsync(owner, "Deal", body);
    }

    private static JsonObject Args(params (string Key, JsonNode? Value)[] pairs)
    {
        var args = new JsonObject();
        foreach (var (key, value) in pairs) args[key] = value;
        return args;
    }

    [Fact]
    public async Task without_a_user_the_door_answers_401_with_the_protected_resource_challenge()
    {
        using var http = new HttpClient();
        const string initialize = """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";
        async Task<HttpResponseMessage> PostAsync(Action<HttpRequestHeaders> headers)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, Server.BaseUrl + "/mcp") { Content = new StringContent(initialize, Encoding.UTF8, "application/json") };
            request.Headers.Accept.ParseAdd("application/json, text/event-stream");
            headers(request.Headers);
            return await http.SendAsync(request);
        }

        var metadataUrl = Server.BaseUrl + "/.well-known/oauth-protected-resource";
        using (var none = await PostAsync(_ => { }))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
            Assert.Equal($"Bearer resource_metadata=\"{metadataUrl}\"", none.Headers.WwwAuthenticate.ToString());
            Assert.Equal(209, JsonNode.Parse(await none.Content.ReadAsStringAsync())!["code"]!.GetValue<int>());
        }
        using (var unknown = await PostAsync(h => h.Authorization = new AuthenticationHeaderValue("Bearer", "r:not-a-session")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
            Assert.Contains("error=\"invalid_token\"", unknown.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }
        // The master key is never a caller here, however it is sent: an agent acts for a person.
        using (var master = await PostAsync(h => h.Add("X-Parse-Master-Key", CrmServer.MasterKey)))
            Assert.Equal(HttpStatusCode.Unauthorized, master.StatusCode);
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{CrmServer.AppId}:{CrmServer.MasterKey}"));
        using (var masterBasic = await PostAsync(h => h.Authorization = new AuthenticationHeaderValue("Basic", basic)))
            Assert.Equal(HttpStatusCode.Unauthorized, masterBasic.StatusCode);
        // A wrong application id stays REST's 403.
        using (var wrongApp = await PostAsync(h => h.Add("X-Parse-Application-Id", "other")))
            Assert.Equal(HttpStatusCode.Forbidden, wrongApp.StatusCode);

        // A message whose params do not fit its method is the client's mistake: 400 with a Parse code, never a 500.
        var (_, _, token) = await Server.UserAsync("mcp-malformed");
        var malformed = new HttpRequestMessage(HttpMethod.Post, Server.BaseUrl + "/mcp")
        {
            Content = new StringContent("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":{"x":1},"capabilities":true}}""", Encoding.UTF8, "application/json"),
        };
        malformed.Headers.Accept.ParseAdd("application/json, text/event-stream");
        malformed.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using (var refused = await http.SendAsync(malformed))
        {
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal(107, JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["code"]!.GetValue<int>());
        }

        var metadata = JsonNode.Parse(await http.GetStringAsync(metadataUrl))!;
        Assert.Equal(Server.BaseUrl + "/mcp", metadata["resource"]!.GetValue<string>());
        Assert.Null(metadata["authorization_servers"]); // Entra ID is not configured on this server

        // The official client surfaces the refusal instead of connecting.
        await Assert.ThrowsAnyAsync<Exception>(() => ConnectAsync(Server, "r:not-a-session"));
    }

    [Fact]
    public async Task initialize_lists_the_tools_with_input_schemas_and_annotations_resources_and_prompts()
    {
        var (_, _, token) = await Server.UserAsync("mcp-list");
        await using var client = await ConnectAsync(Server, token);
        Assert.Equal("crm", client.ServerInfo!.Name);
        var tools = await client.ListToolsAsync();
        Assert.Equal(
            ["create", "delete", "describe_schema", "find", "get", "history", "log_activity", "my_open_activities", "overdue_deals", "pipeline_summary", "update"],
            tools.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (var tool in tools)
        {
            var annotations = tool.ProtocolTool.Annotations!;
            Assert.NotNull(annotations.ReadOnlyHint);
            Assert.NotNull(annotations.DestructiveHint);
            Assert.NotNull(annotations.IdempotentHint);
            Assert.Equal("object", tool.JsonSchema.GetProperty("type").GetString());
        }
        var find = tools.Single(t => t.Name == "find").ProtocolTool;
        Assert.True(find.Annotations!.ReadOnlyHint);
        var classes = find.InputSchema.GetProperty("properties").GetProperty("className").GetProperty("enum").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains("Deal", classes);
        Assert.Contains("_User", classes);
        Assert.DoesNotContain("_Session", classes);
        var delete = tools.Single(t => t.Name == "delete").ProtocolTool.Annotations!;
        Assert.False(delete.ReadOnlyHint);
        Assert.True(delete.DestructiveHint);
        Assert.True(delete.IdempotentHint);
        Assert.False(tools.Single(t => t.Name == "create").ProtocolTool.Annotations!.DestructiveHint);

        var resources = await client.ListResourcesAsync();
        Assert.Equal(["crm://dictionary.md", "crm://erd.mmd", "crm://schema.json"], resources.Select(r => r.Uri).Order(StringComparer.Ordinal));
        var erd = await client.ReadResourceAsync("crm://erd.mmd");
        Assert.StartsWith("erDiagram", ((TextResourceContents)erd.Contents[0]).Text.TrimStart(), StringComparison.Ordinal);
        var schema = JsonNode.Parse(((TextResourceContents)(await client.ReadResourceAsync("crm://schema.json")).Contents[0]).Text)!;
        Assert.Contains(schema["classes"]!.AsArray(), c => c!["className"]!.GetValue<string>() == "Deal");
        Assert.Contains("| Field |", ((TextResourceContents)(await client.ReadResourceAsync("crm://dictionary.md")).Contents[0]).Text, StringComparison.Ordinal);

        var prompts = await client.ListPromptsAsync();
        Assert.Equal(["follow_ups_due_this_week", "weekly_pipeline_review"], prompts.Select(p => p.Name).Order(StringComparer.Ordinal));
        var review = await client.GetPromptAsync("weekly_pipeline_review");
        Assert.Contains("pipeline_summary", ((TextContentBlock)review.Messages[0].Content).Text, StringComparison.Ordinal);
        var followUps = await client.GetPromptAsync("follow_ups_due_this_week");
        Assert.Contains("my_open_activities", ((TextContentBlock)followUps.Messages[0].Content).Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task a_class_added_through_schemas_is_offered_without_a_restart()
    {
        var (_, _, token) = await Server.UserAsync("mcp-schema");
        await using var client = await ConnectAsync(Server, token);
        var className = "Ticket" + Guid.NewGuid().ToString("N")[..8];
        static List<string?> Classes(IList<McpClientTool> tools) =>
            [.. tools.Single(t => t.Name == "find").ProtocolTool.InputSchema.GetProperty("properties").GetProperty("className").GetProperty("enum").EnumerateArray().Select(e => e.GetString())];
        Assert.DoesNotContain(className, Classes(await client.ListToolsAsync()));

        using var master = Server.Client().AsMaster();
        (await master.PostAsync($"schemas/{className}", new JsonObject
        {
            ["className"] = className,
            ["fields"] = new JsonObject { ["subject"] = new JsonObject { ["type"] = "String" } },
        })).EnsureStatus(HttpStatusCode.OK);

        Assert.Contains(className, Classes(await client.ListToolsAsync()));
        var created = await CallAsync(client, "create", Args(("className", className), ("fields", new JsonObject { ["subject"] = "printer" })));
        var found = await CallAsync(client, "find", Args(("className", className), ("where", new JsonObject { ["objectId"] = created["objectId"]!.GetValue<string>() })));
        Assert.Equal("printer", found["results"]![0]!["subject"]!.GetValue<string>());
        var described = await CallAsync(client, "describe_schema", Args(("className", className)));
        Assert.Equal("String", described["classes"]![0]!["fields"]!["subject"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task every_tool_answers_each_user_with_only_what_that_user_may_see()
    {
        var (alice, aliceId, aliceToken) = await Server.UserAsync("mcp-alice");
        var (bob, _, bobToken) = await Server.UserAsync("mcp-bob");
        var tag = Guid.NewGuid().ToString("N")[..8];
        var aliceDeal = await DealAsync(alice, $"Acme {tag}", 1000, "proposal", DateTime.UtcNow.AddDays(-3));
        var globexDeal = await DealAsync(alice, $"Globex {tag}", 3000, "negotiation", DateTime.UtcNow.AddDays(20));
        var bobDeal = await DealAsync(bob, $"Initech {tag}", 500, "lead", DateTime.UtcNow.AddDays(-1));
        var aliceContact = await Tools.CreateAsync(alice, "Contact", new JsonObject { ["name"] = $"Wile {tag}", ["email"] = "wile@example.com" });

        await using var a = await ConnectAsync(Server, aliceToken);
        await using var b = await ConnectAsync(Server, bobToken);
        // Exact titles, not a $regex: a regex has a time limit, which a loaded machine could meet.
        var byTitle = new JsonObject { ["title"] = new JsonObject { ["$in"] = new JsonArray($"Acme {tag}", $"Globex {tag}", $"Initech {tag}") } };

        // find: each sees their own deals; count agrees with the results.
        var aliceFound = await CallAsync(a, "find", Args(("className", "Deal"), ("where", byTitle.DeepClone()), ("order", "-amount"), ("count", true), ("keys", new JsonArray("title", "amount"))));
        Assert.Equal([$"Globex {tag}", $"Acme {tag}"], aliceFound["results"]!.AsArray().Select(r => r!["title"]!.GetValue<string>()));
        Assert.Equal(2, aliceFound["count"]!.GetValue<long>());
        Assert.Null(aliceFound["results"]![0]!["stage"]); // keys honoured
        var bobFound = await CallAsync(b, "find", Args(("className", "Deal"), ("where", byTitle.DeepClone()), ("count", true)));
        Assert.Equal([$"Initech {tag}"], bobFound["results"]!.AsArray().Select(r => r!["title"]!.GetValue<string>()));
        Assert.Equal(1, bobFound["count"]!.GetValue<long>());

        // get: bob cannot read alice's deal (not found, as over REST); include resolves pointers the caller may read.
        Assert.Equal(aliceDeal, (await CallAsync(a, "get", Args(("className", "Deal"), ("objectId", aliceDeal))))["objectId"]!.GetValue<string>());
        Assert.Equal(101, await RefusedAsync(b, "get", Args(("className", "Deal"), ("objectId", aliceDeal))));

        // Protected fields stay hidden, from results, queries and the schema description, as over REST.
        var secrets = "Card" + tag;
        using (var master = Server.Client().AsMaster())
        {
            var everyone = new JsonObject { ["*"] = true };
            (await master.PostAsync($"schemas/{secrets}", new JsonObject
            {
                ["className"] = secrets,
                ["fields"] = new JsonObject { ["name"] = new JsonObject { ["type"] = "String" }, ["pin"] = new JsonObject { ["type"] = "String" } },
                ["classLevelPermissions"] = new JsonObject
                {
                    ["find"] = everyone.DeepClone(), ["get"] = everyone.DeepClone(), ["create"] = everyone.DeepClone(), ["update"] = everyone.DeepClone(),
                    ["delete"] = everyone.DeepClone(), ["addField"] = new JsonObject(), ["protectedFields"] = new JsonObject { ["*"] = new JsonArray("pin") },
                },
            })).EnsureStatus(HttpStatusCode.OK);
            (await master.PostAsync($"classes/{secrets}", new JsonObject { ["name"] = "visa", ["pin"] = "1234" })).EnsureStatus(HttpStatusCode.Created);
        }
        var card = (await CallAsync(b, "find", Args(("className", secrets))))["results"]![0]!;
        Assert.Equal("visa", card["name"]!.GetValue<string>());
        Assert.Null(card["pin"]);
        Assert.Equal(119, await RefusedAsync(b, "find", Args(("className", secrets), ("where", new JsonObject { ["pin"] = "1234" }))));
        Assert.Null((await CallAsync(b, "describe_schema", Args(("className", secrets))))["classes"]![0]!["fields"]!["pin"]);
        var bobSchema = await CallAsync(b, "describe_schema", Args(("className", "_User")));
        Assert.Null(bobSchema["classes"]![0]!["fields"]!["email"]);
        Assert.Null(bobSchema["classes"]![0]!["fields"]!["password"]);
        var dealSchema = (await CallAsync(b, "describe_schema"))["classes"]!.AsArray().Single(c => c!["className"]!.GetValue<string>() == "Deal")!;
        Assert.Equal(new JsonArray("lead", "qualified", "proposal", "negotiation", "won", "lost").ToJsonString(), dealSchema["fields"]!["stage"]!["enum"]!.ToJsonString());

        // update with Parse's operators: alice may, bob may not touch alice's deal.
        await CallAsync(a, "update", Args(("className", "Deal"), ("objectId", aliceDeal), ("fields", new JsonObject
        {
            ["stage"] = "negotiation", ["amount"] = new JsonObject { ["__op"] = "Increment", ["amount"] = 500 },
        })));
        var updated = (await alice.GetAsync($"classes/Deal/{aliceDeal}")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Equal(1500, updated["amount"]!.GetValue<double>());
        Assert.Equal("negotiation", updated["stage"]!.GetValue<string>());
        Assert.Equal(101, await RefusedAsync(b, "update", Args(("className", "Deal"), ("objectId", aliceDeal), ("fields", new JsonObject { ["stage"] = "lost" }))));
        Assert.Equal(101, await RefusedAsync(b, "delete", Args(("className", "Deal"), ("objectId", aliceDeal))));
        // Validation is the core's: a stage outside the pipeline is refused with its code.
        Assert.Equal(142, await RefusedAsync(a, "update", Args(("className", "Deal"), ("objectId", aliceDeal), ("fields", new JsonObject { ["stage"] = "dreaming" }))));

        // pipeline_summary over each caller's deals only (tag-free: other tests' deals of these users do not exist).
        var aliceSummary = await CallAsync(a, "pipeline_summary", Args(("groupBy", "stage")));
        Assert.Equal(2, aliceSummary["total"]!["count"]!.GetValue<long>());
        Assert.Equal(4500, aliceSummary["total"]!["amount"]!.GetValue<double>());
        Assert.Equal(3375, aliceSummary["total"]!["weightedAmount"]!.GetValue<double>()); // (1500 + 3000) × 75 %
        var byOwner = await CallAsync(a, "pipeline_summary", Args(("groupBy", "owner")));
        Assert.Equal(aliceId, byOwner["groups"]![0]!["owner"]!.GetValue<string>());
        Assert.StartsWith("mcp-alice", byOwner["groups"]![0]!["username"]!.GetValue<string>(), StringComparison.Ordinal);
        var byMonth = await CallAsync(a, "pipeline_summary", Args(("groupBy", "closeMonth")));
        Assert.Equal(2, byMonth["groups"]!.AsArray().Sum(g => g!["count"]!.GetValue<long>()));
        var bobSummary = await CallAsync(b, "pipeline_summary");
        Assert.Equal(1, bobSummary["total"]!["count"]!.GetValue<long>());
        Assert.Equal(50, bobSummary["total"]!["weightedAmount"]!.GetValue<double>());

        // overdue_deals: alice's Acme is past its date; bob's Initech is his only one.
        Assert.Equal([aliceDeal], (await CallAsync(a, "overdue_deals"))["results"]!.AsArray().Select(r => r!["objectId"]!.GetValue<string>()));
        Assert.Equal([bobDeal], (await CallAsync(b, "overdue_deals", Args(("onlyMine", false))))["results"]!.AsArray().Select(r => r!["objectId"]!.GetValue<string>()));

        // log_activity: on what the caller can see; an open follow-up shows in my_open_activities, for its author only.
        var due = DateTime.UtcNow.AddDays(2).ToString("o");
        var logged = await CallAsync(a, "log_activity", Args(("type", "call"), ("subject", $"Call Wile {tag}"), ("relatedClass", "Contact"),
            ("relatedId", aliceContact), ("dueDate", due), ("completed", false)));
        Assert.False(logged["completed"]!.GetValue<bool>());
        var done = await CallAsync(a, "log_activity", Args(("type", "note"), ("subject", $"Met {tag}"), ("relatedClass", "Deal"), ("relatedId", aliceDeal)));
        Assert.True(done["completed"]!.GetValue<bool>());
        Assert.Equal(101, await RefusedAsync(b, "log_activity", Args(("type", "call"), ("subject", "x"), ("relatedClass", "Deal"), ("relatedId", aliceDeal))));
        var open = (await CallAsync(a, "my_open_activities", Args(("dueBefore", DateTime.UtcNow.AddDays(7).ToString("o")))))["results"]!.AsArray();
        Assert.Equal([logged["objectId"]!.GetValue<string>()], open.Select(r => r!["objectId"]!.GetValue<string>()));
        Assert.Empty((await CallAsync(b, "my_open_activities"))["results"]!.AsArray());
        var stored = (await alice.GetAsync($"classes/Activity/{logged["objectId"]}")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Equal(aliceContact, stored["relatedTo"]!["objectId"]!.GetValue<string>());
        Assert.Equal(aliceId, stored["createdBy"]!["objectId"]!.GetValue<string>());

        // delete: the CRM's rules hold (a deal with activities stays); alice deletes her other deal; it is gone over REST.
        Assert.Equal(142, await RefusedAsync(a, "delete", Args(("className", "Deal"), ("objectId", aliceDeal))));
        await CallAsync(a, "delete", Args(("className", "Deal"), ("objectId", globexDeal)));
        Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync($"classes/Deal/{globexDeal}")).Status);

        // Bad arguments are Parse errors the model can read, never server faults.
        Assert.Equal(103, await RefusedAsync(a, "find", Args(("className", "_Session"))));
        Assert.Equal(102, await RefusedAsync(a, "find", Args(("className", "Deal"), ("limit", "many"))));
        Assert.Equal(107, await RefusedAsync(a, "create", Args(("className", "Deal"), ("fields", "not an object"))));
        await Assert.ThrowsAsync<McpProtocolException>(() => a.CallToolAsync("drop_database").AsTask());
    }

    [Fact]
    public async Task a_write_through_mcp_is_delivered_by_real_time()
    {
        var (alice, _, token) = await Server.UserAsync("mcp-live");
        var dealId = await DealAsync(alice, "Live deal", 100, "lead");
        await using var live = await RealtimeClient.ConnectAsync(Server, token);
        await using var client = await ConnectAsync(Server, token);
        await CallAsync(client, "update", Args(("className", "Deal"), ("objectId", dealId), ("fields", new JsonObject { ["stage"] = "qualified" })));
        var (target, payload) = await live.NextAsync("the MCP update");
        Assert.Equal("updated", target);
        Assert.Equal(dealId, payload["object"]!["objectId"]!.GetValue<string>());
        Assert.Equal("qualified", payload["object"]!["stage"]!.GetValue<string>());
    }

    [Fact]
    public async Task read_only_mode_offers_only_the_read_tools_and_refuses_writes()
    {
        using var server = Tools.TemplateServer(extra: new Dictionary<string, string?> { ["Mcp:ReadOnly"] = "true" });
        var (alice, _, token) = await server.UserAsync("mcp-ro");
        var dealId = await DealAsync(alice, "Read only", 100, "lead");
        await using var client = await ConnectAsync(server, token);
        var tools = await client.ListToolsAsync();
        Assert.Equal(["describe_schema", "find", "get", "history", "my_open_activities", "overdue_deals", "pipeline_summary"], tools.Select(t => t.Name).Order(StringComparer.Ordinal));
        Assert.All(tools, t => Assert.True(t.ProtocolTool.Annotations!.ReadOnlyHint));
        var refused = await Assert.ThrowsAsync<McpProtocolException>(() =>
            client.CallToolAsync("update", Arguments(Args(("className", "Deal"), ("objectId", dealId), ("fields", new JsonObject { ["stage"] = "won" })))).AsTask());
        Assert.Contains("read-only", refused.Message, StringComparison.Ordinal);
        Assert.Equal("lead", (await alice.GetAsync($"classes/Deal/{dealId}")).Json!["stage"]!.GetValue<string>());
        Assert.Single((await CallAsync(client, "find", Args(("className", "Deal"))))["results"]!.AsArray());
    }

    [Fact]
    public async Task the_door_can_be_turned_off()
    {
        using var server = Tools.TemplateServer(extra: new Dictionary<string, string?> { ["Mcp:Enabled"] = "false" });
        var (_, _, token) = await server.UserAsync("mcp-off");
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + "/mcp") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var metadata = await http.GetAsync(server.BaseUrl + "/.well-known/oauth-protected-resource");
        Assert.Equal(HttpStatusCode.NotFound, metadata.StatusCode);
    }
}
