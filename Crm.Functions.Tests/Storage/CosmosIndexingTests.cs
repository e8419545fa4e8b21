using System.Text.Json;
using System.Text.Json.Nodes;
using global::Crm.Functions.Core.Schema;
using global::Crm.Functions.Storage.Cosmos;

namespace Crm.Functions.Tests.Storage;

/// <summary>Checks that need no server: the indexing policy file the infrastructure loads, and the change-feed bindings.</summary>
public sealed class CosmosIndexingTests
{
    private static string RepoFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Crm.Functions.sln"))) return Path.Combine(dir.FullName, relative);
        throw new FileNotFoundException(relative);
    }

    [Fact]
    public void infra_indexing_json_is_exactly_the_policy_the_store_creates()
    {
        var file = JsonNode.Parse(File.ReadAllText(RepoFile("infra/cosmos-indexing.json")));
        Assert.True(JsonNode.DeepEquals(CosmosIndexing.InfraDocument(), file),
            "infra/cosmos-indexing.json is out of date; regenerate it from CosmosIndexing.InfraDocument():\n"
            + CosmosIndexing.InfraDocument().ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    [Fact]
    public void deal_policy_declares_the_pipeline_composite_indexes()
    {
        var deal = CosmosIndexing.For(ClassSchema.Create("Deal"));
        var composites = deal.CompositeIndexes.Select(c => string.Join(",", c.Select(p => p.Path + ":" + p.Order))).ToList();
        Assert.Contains("/data/stage:Ascending,/data/expectedCloseDate/iso:Ascending", composites);
        Assert.Contains("/data/stage:Ascending,/updatedAt:Descending", composites);
        var activity = CosmosIndexing.For(ClassSchema.Create("Activity"));
        Assert.Contains("/data/relatedTo/objectId:Ascending,/data/dueDate/iso:Ascending",
            activity.CompositeIndexes.Select(c => string.Join(",", c.Select(p => p.Path + ":" + p.Order))));
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
