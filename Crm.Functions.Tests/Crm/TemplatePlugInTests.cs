using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Schema;
using Crm.Functions.Realtime;
using Crm.Functions.Storage.Cosmos;
using Crm.Functions.Tests.Infrastructure;
using Crm.Functions.Tests.Realtime;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using static Crm.Functions.Tests.Realtime.RealtimeFixtures;

namespace Crm.Functions.Tests.CrmTemplate;

/// <summary>
/// The CRM template plugs into the generic mechanisms through registration: with Crm:ApplyTemplate on, Deal and
/// Activity feed every reader (with change-feed endpoints), a deal's move carries previousStage, records are owned by
/// their creator or assignee, and the pipeline orders are indexed; with it off, the server knows none of this.
/// </summary>
public sealed class TemplatePlugInTests
{
    /// <summary>What one server does with the same Deal writes: feed endpoint, previous stage, owner, Cosmos indexes.</summary>
    private sealed record Observed(HttpStatusCode FeedEndpoint, string? PreviousStage, string Owner, string AssigneeId, int CompositeIndexes, IReadOnlyList<string> FeedClasses);

    private static async Task<Observed> ObserveAsync(CrmServer server, bool templateMadeDeal)
    {
        if (!templateMadeDeal) await CreateDealClassAsync(server);
        var (a, aId, aToken) = await server.UserAsync("alice");
        var (_, bId, _) = await server.UserAsync("bob");

        // The change-feed endpoint the Functions host would call for Deal, with an empty batch.
        using var http = new HttpClient();
        using var invocation = new HttpRequestMessage(HttpMethod.Post, $"{server.BaseUrl}/DealChanges")
        {
            Content = new StringContent(ChangeFeedTests.Invocation().ToJsonString(), System.Text.Encoding.UTF8, "application/json"),
        };
        invocation.Headers.Add("X-Parse-Application-Id", CrmServer.AppId);
        invocation.Headers.Add("X-Parse-Master-Key", CrmServer.MasterKey);
        using var feedResponse = await http.SendAsync(invocation);
        var feedStatus = feedResponse.StatusCode;

        // A subscription works on any class: it shows whether an update carries the previous stage.
        await using var live = await RealtimeClient.ConnectAsync(server, aToken);
        var subscriptionId = await live.Connection.InvokeAsync<string>("Subscribe", "Deal", "{}");
        var dealId = await CreateDealAsync(a, new JsonObject { ["title"] = "Initech", ["stage"] = "lead", ["ACL"] = Acl((aId, true)) });
        (await a.PutAsync($"classes/Deal/{dealId}", new JsonObject { ["stage"] = "proposal" })).EnsureStatus(HttpStatusCode.OK);
        JsonObject update;
        do update = await live.NextAsync("event", "the stage change");
        while (update["op"]!.GetValue<string>() != "update" || update["subscriptionId"]!.GetValue<string>() != subscriptionId);

        // A deal the master key creates for someone else.
        using var master = server.Client().AsMaster();
        var assigned = await master.PostAsync("classes/Deal", new JsonObject { ["title"] = "Globex", ["stage"] = "lead", ["assignedTo"] = Wire.PointerTo("_User", bId) });
        assigned.EnsureStatus(HttpStatusCode.Created);
        var owner = (await ChangeFeedTests.DocumentAsync(server, "Deal", assigned.Json!["objectId"]!.GetValue<string>()))["ownerId"]!.GetValue<string>();

        var services = server.Services;
        var schema = services.GetRequiredService<SchemaService>().Get("Deal")!;
        var declarations = services.GetRequiredService<IOptions<ClassDeclarations>>().Value;
        var composites = CosmosIndexing.For(schema, declarations.Of("Deal")).CompositeIndexes.Count;
        return new Observed(feedStatus, update["previousStage"]?.GetValue<string>(), owner, bId, composites,
            services.GetRequiredService<IOptions<RealtimeSettings>>().Value.FeedClasses);
    }

    [Fact]
    public async Task a_server_without_the_template_carries_no_crm_knowledge()
    {
        using var server = new CrmServer(new Dictionary<string, string?> { ["Crm:ApplyTemplate"] = "false" });
        var seen = await ObserveAsync(server, templateMadeDeal: false);
        Assert.Equal(HttpStatusCode.NotFound, seen.FeedEndpoint);
        Assert.Empty(seen.FeedClasses);
        Assert.Null(seen.PreviousStage);
        Assert.NotEqual(seen.AssigneeId, seen.Owner);
        Assert.Equal(0, seen.CompositeIndexes);
        var declared = server.Services.GetRequiredService<IOptions<ClassDeclarations>>().Value.Classes.Keys;
        Assert.Equal(new[] { "_Session" }, declared);
    }

    [Fact]
    public async Task a_server_with_the_template_declares_feed_previous_stage_owners_and_indexes()
    {
        using var server = Tools.TemplateServer();
        var seen = await ObserveAsync(server, templateMadeDeal: true);
        Assert.Equal(HttpStatusCode.OK, seen.FeedEndpoint);
        Assert.Equal(new[] { "Activity", "Deal" }, seen.FeedClasses.Order(StringComparer.Ordinal));
        Assert.Equal("lead", seen.PreviousStage);
        Assert.Equal(seen.AssigneeId, seen.Owner);
        Assert.True(seen.CompositeIndexes >= 2, $"Deal has {seen.CompositeIndexes} composite indexes.");
    }

    [Fact]
    public async Task settings_declare_the_same_knowledge_without_the_template()
    {
        using var server = FeedServer(new Dictionary<string, string?>
        {
            ["Classes:Deal:OwnerFields:0"] = "assignedTo",
            ["Classes:Deal:CompositeIndexes:0"] = "stage,-updatedAt",
        });
        var seen = await ObserveAsync(server, templateMadeDeal: false);
        Assert.Equal(HttpStatusCode.OK, seen.FeedEndpoint);
        Assert.Equal("lead", seen.PreviousStage);
        Assert.Equal(seen.AssigneeId, seen.Owner);
        Assert.Equal(1, seen.CompositeIndexes);
    }
}
