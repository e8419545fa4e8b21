using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Core.History;
using Crm.Functions.Tests.CrmTemplate;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Crm.Functions.Tests.History;

/// <summary>The history's defaults (the CRM classes) and its retention: expired entries are pruned in the background.</summary>
public sealed class HistoryRetentionTests
{
    /// <summary>A request time for the local Cosmos DB API server on a busy machine (these tests are not about speed).</summary>
    internal static readonly (string, string?) SlowStore = ("Parse:Limits:RequestTimeoutMilliseconds", "60000");

    [Fact]
    public async Task by_default_the_crm_classes_are_recorded_and_a_deal_shows_its_stage_moves()
    {
        using var server = Tools.TemplateServer(extra: new Dictionary<string, string?> { [SlowStore.Item1] = SlowStore.Item2 });
        var (alice, _, _) = await server.UserAsync("seller");
        var (bob, _, _) = await server.UserAsync("stranger");
        var deal = await Tools.CreateAsync(alice, "Deal", new JsonObject { ["title"] = "Renewal", ["amount"] = 5000, ["stage"] = "proposal" });
        (await alice.PutAsync($"classes/Deal/{deal}", new JsonObject { ["stage"] = "won" })).EnsureStatus(HttpStatusCode.OK);

        var entries = await HistoryTests.HistoryAsync(alice, "Deal", deal);
        Assert.Equal(["update", "create"], entries.Select(e => e!["event"]!.GetValue<string>()));
        var stage = entries[0]!["changes"]!.AsArray().Single(c => c!["field"]!.GetValue<string>() == "stage")!;
        Assert.Equal(("proposal", "won"), (stage["old"]!.GetValue<string>(), stage["new"]!.GetValue<string>()));
        (await bob.GetAsync($"classes/Deal/{deal}/history")).EnsureError(101);
        // Classes outside the setting keep no history.
        (await alice.GetAsync($"classes/_Role/{deal}/history")).EnsureError(119);
    }

    [Fact]
    public async Task entries_older_than_the_retention_are_pruned_in_the_background_and_newer_ones_stay()
    {
        var time = new AdjustableTime();
        using var server = new CrmServer(TestSettings.Fast(SlowStore,
            ("Parse:History:Classes:0", "Note"), ("Parse:History:RetentionDays", "1"), ("Parse:History:PruneIntervalSeconds", "0.2")),
            services => services.AddSingleton<TimeProvider>(time));
        using var master = server.Client().AsMaster();
        var id = await master.CreateAsync("Note", new JsonObject { ["text"] = "a" });
        for (var i = 0; i < 3; i++)
            (await master.PutAsync($"classes/Note/{id}", new JsonObject { ["text"] = "b" + i })).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal(4, (await HistoryTests.HistoryAsync(master, "Note", id)).Count);

        time.Offset = TimeSpan.FromDays(2);
        (await master.PutAsync($"classes/Note/{id}", new JsonObject { ["text"] = "late" })).EnsureStatus(HttpStatusCode.OK);
        // The pruner runs every 0.2 s; wait (bounded) for it to have removed the four expired entries.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        JsonArray entries;
        while ((entries = await HistoryTests.HistoryAsync(master, "Note", id)).Count > 1 && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Equal([5L], entries.Select(e => e!["sequence"]!.GetValue<long>()));
        Assert.Equal("late", entries[0]!["changes"]![0]!["new"]!.GetValue<string>());
        // Nothing left to prune: a direct round finds nothing.
        Assert.Equal(0, await server.Services.GetRequiredService<HistoryPruner>().PruneAsync(CancellationToken.None));
    }

    [Fact]
    public async Task pruning_goes_in_bounded_batches_through_more_entries_than_one_batch_holds()
    {
        var time = new AdjustableTime();
        // A long interval: the test runs the pruner's round itself.
        using var server = new CrmServer(TestSettings.Fast(SlowStore,
            ("Parse:History:Classes:0", "Note"), ("Parse:History:RetentionDays", "1"), ("Parse:History:PruneIntervalSeconds", "86400")),
            services => services.AddSingleton<TimeProvider>(time));
        using var master = server.Client().AsMaster();
        var writes = HistoryPruner.BatchSize + 30;
        var batch = Enumerable.Range(0, writes).Select(i => ("POST", "classes/Note", (JsonNode?)new JsonObject { ["text"] = "n" + i })).ToList();
        var created = 0;
        foreach (var chunk in batch.Chunk(50))
            created += (await master.BatchAsync(chunk)).EnsureStatus(HttpStatusCode.OK).Json!.AsArray().Count(item => item!["success"] is not null);
        Assert.Equal(writes, created);
        var pruner = server.Services.GetRequiredService<HistoryPruner>();
        Assert.Equal(0, await pruner.PruneAsync(CancellationToken.None));
        time.Offset = TimeSpan.FromDays(1.5);
        Assert.Equal(writes, await pruner.PruneAsync(CancellationToken.None));
        Assert.Equal(0, await pruner.PruneAsync(CancellationToken.None));
    }

    [Fact]
    public async Task retention_zero_keeps_entries_for_ever()
    {
        var time = new AdjustableTime();
        using var server = new CrmServer(TestSettings.Fast(SlowStore, ("Parse:History:Classes:0", "Note"), ("Parse:History:RetentionDays", "0")),
            services => services.AddSingleton<TimeProvider>(time));
        using var master = server.Client().AsMaster();
        var id = await master.CreateAsync("Note", new JsonObject { ["text"] = "kept" });
        time.Offset = TimeSpan.FromDays(3650);
        Assert.Equal(0, await server.Services.GetRequiredService<HistoryPruner>().PruneAsync(CancellationToken.None));
        Assert.Single(await HistoryTests.HistoryAsync(master, "Note", id));
    }
}
