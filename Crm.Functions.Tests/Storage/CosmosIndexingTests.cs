using System.Text.Json;
using System.Text.Json.Nodes;
using global::Crm.Functions.Core.Schema;
using global::Crm.Functions.Storage.Cosmos;
using Crm.Functions.Tests.CrmTemplate;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Tests.Storage;

/// <summary>
/// The indexing policy file the infrastructure loads and the change-feed bindings, against what the CRM template
/// declares on a server with the template on (the deployed app's default).
/// </summary>
public sealed class CosmosIndexingTests(TemplateServerFixture fixture) : IClassFixture<TemplateServerFixture>
{
    private static string RepoFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Crm.Functions.sln"))) return Path.Combine(dir.FullName, relative);
        throw new FileNotFoundException(relative);
    }

    private ClassDeclarations Declarations => fixture.Server.Services.GetRequiredService<IOptions<ClassDeclarations>>().Value;

    private IndexingPolicy PolicyOf(string className) =>
        CosmosIndexing.For(fixture.Server.Services.GetRequiredService<SchemaService>().Get(className)!, Declarations.Of(className));

    [Fact]
    public void infra_indexing_json_is_exactly_the_policy_the_store_creates()
    {
        var file = JsonNode.Parse(File.ReadAllText(RepoFile("infra/cosmos-indexing.json")));
        var expected = CosmosIndexing.InfraDocument(Declarations, fixture.Server.Services.GetRequiredService<SchemaService>().All);
        Assert.True(JsonNode.DeepEquals(expected, file),
            "infra/cosmos-indexing.json is out of date; regenerate it from CosmosIndexing.InfraDocument():\n"
            + expected.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    [Fact]
    public void deal_policy_declares_the_pipeline_composite_indexes()
    {
        static IEnumerable<string> Composites(IndexingPolicy policy) => policy.CompositeIndexes.Select(c => string.Join(",", c.Select(p => p.Path + ":" + p.Order)));
        var deal = Composites(PolicyOf("Deal")).ToList();
        Assert.Contains("/data/stage:Ascending,/data/expectedCloseDate/iso:Ascending", deal);
        Assert.Contains("/data/stage:Ascending,/updatedAt:Descending", deal);
        Assert.Contains("/data/relatedTo/objectId:Ascending,/data/dueDate/iso:Ascending", Composites(PolicyOf("Activity")));
    }

    [Fact]
    public void change_feed_functions_are_exactly_the_feed_classes_the_template_declares()
    {
        var feed = fixture.Server.Services.GetRequiredService<IOptions<global::Crm.Functions.Realtime.RealtimeSettings>>().Value.FeedClasses;
        var triggered = Directory.GetDirectories(RepoFile("functions"))
            .Where(d => File.Exists(Path.Combine(d, "function.json")) && File.ReadAllText(Path.Combine(d, "function.json")).Contains("\"cosmosDBTrigger\"", StringComparison.Ordinal))
            .Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(feed);
        Assert.Equal(feed.Select(c => c + "Changes").Order(StringComparer.Ordinal), triggered);
    }

    [Theory]
    [InlineData("DealChanges", "Deal")]
    [InlineData("ActivityChanges", "Activity")]
    public void change_feed_bindings_watch_the_class_containers_with_a_lease_container(string function, string container)
    {
        var json = JsonNode.Parse(File.ReadAllText(RepoFile($"functions/{function}/function.json")))!;
        var binding = json["bindings"]!.AsArray().Single(b => b!["direction"]!.GetValue<string>() == "in")!;
        Assert.Equal("cosmosDBTrigger", binding["type"]!.GetValue<string>());
        Assert.Equal("in", binding["direction"]!.GetValue<string>());
        Assert.Equal("CosmosDb", binding["connection"]!.GetValue<string>());
        Assert.Equal(container, binding["containerName"]!.GetValue<string>());
        Assert.Equal(CosmosObjectStore.LeasesContainer, binding["leaseContainerName"]!.GetValue<string>());
        // Keys are off on the account: the lease container is provisioned by the infrastructure, never at run time.
        Assert.False(binding["createLeaseContainerIfNotExists"]!.GetValue<bool>());
        // The app answers the invocation with per-user SignalR messages under this output binding's name.
        var output = json["bindings"]!.AsArray().Single(b => b!["direction"]!.GetValue<string>() == "out")!;
        Assert.Equal("signalR", output["type"]!.GetValue<string>());
        Assert.Equal(global::Crm.Functions.Realtime.RealtimeApi.OutputBinding, output["name"]!.GetValue<string>());
    }

    [Fact]
    public void quoted_regex_runs_are_escaped_for_engines_without_backslash_q()
    {
        Assert.Equal(@"a\(b\)\.c$", CosmosQueryTranslator.Unquote(@"\Qa(b).c\E$"));
        Assert.Equal("plain", CosmosQueryTranslator.Unquote("plain"));
    }
}
