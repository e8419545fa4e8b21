using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.CrmTemplate;

namespace Crm.Functions.Tests.Mcp;

/// <summary>
/// The official MCP TypeScript SDK (<c>@modelcontextprotocol/sdk</c>, node/mcp) works the CRM through /mcp the way an
/// assistant would: refused without a token, then list the tools, find a deal, move it, summarise the pipeline.
/// </summary>
public sealed class McpNodeClientTests
{
    [Fact]
    public async Task the_typescript_sdk_lists_finds_updates_and_summarises_as_the_signed_in_user()
    {
        using var server = Tools.TemplateServer();
        var (alice, _, token) = await server.UserAsync("mcp-node");
        var (bob, _, _) = await server.UserAsync("mcp-node-other");
        var title = "Acme renewal " + Guid.NewGuid().ToString("N")[..6];
        var dealId = await Tools.CreateAsync(alice, "Deal", new JsonObject { ["title"] = title, ["amount"] = 12000, ["stage"] = "proposal" });
        await Tools.CreateAsync(alice, "Deal", new JsonObject { ["title"] = "Globex pilot", ["amount"] = 4000, ["stage"] = "qualified" });
        // Another user's deal in negotiation: never in alice's summary.
        await Tools.CreateAsync(bob, "Deal", new JsonObject { ["title"] = "Initech", ["amount"] = 999, ["stage"] = "negotiation" });

        var run = await Tools.NodeAsync("mcp", "session.mjs", server.BaseUrl, token, title);
        Assert.True(run.ExitCode == 0, run.ToString());
        var output = JsonNode.Parse(run.StdOut)!;

        Assert.Equal(401, output["refused"]!["code"]!.GetValue<int>());
        Assert.Equal(401, output["challengeStatus"]!.GetValue<int>());
        Assert.Equal(server.BaseUrl + "/.well-known/oauth-protected-resource", output["resourceMetadataUrl"]!.GetValue<string>());
        Assert.Equal(server.BaseUrl + "/mcp", output["resourceMetadata"]!["resource"]!.GetValue<string>());
        Assert.Equal("crm", output["server"]!["name"]!.GetValue<string>());
        Assert.Contains("pipeline_summary", output["tools"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal(dealId, output["dealId"]!.GetValue<string>());
        Assert.Equal(1, output["negotiation"]!["count"]!.GetValue<long>());
        Assert.Equal(12000, output["negotiation"]!["amount"]!.GetValue<double>());
        Assert.Equal(3, output["resources"]!.AsArray().Count);
        Assert.Equal(2, output["prompts"]!.AsArray().Count);
        var stored = (await alice.GetAsync($"classes/Deal/{dealId}")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Equal("negotiation", stored["stage"]!.GetValue<string>());
        Assert.All(output["transcript"]!.AsArray().Skip(1), step => Assert.False(step!["isError"]!.GetValue<bool>()));
    }
}
