using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Store;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Crm.Functions.Tests.Realtime.RealtimeFixtures;

namespace Crm.Functions.Tests.Realtime;

/// <summary>The custom-handler endpoint the Functions host calls with cosmosDBTrigger batches.</summary>
public sealed class ChangeFeedTests
{
    /// <summary>The document as the Cosmos change feed delivers it (the Cosmos store's item shape).</summary>
    internal static async Task<JsonObject> DocumentAsync(CrmServer server, string className, string objectId)
    {
        var store = server.Services.GetRequiredService<IObjectStore>();
        var found = await store.FindAsync(new StoreQuery(className, new Core.Query.CompareNode(
            Core.Query.FieldRef.Of("objectId"), Core.Query.CompareOp.Eq, new Core.Query.StringValue(objectId)), [], 0, 1), CancellationToken.None);
        var obj = found.Single();
        var document = new JsonObject
        {
            ["id"] = obj.ObjectId, ["ownerId"] = obj.OwnerId, ["createdAt"] = obj.CreatedAt, ["updatedAt"] = obj.UpdatedAt,
            ["data"] = obj.Data.DeepClone(), ["_rid"] = "abc==", ["_etag"] = "\"0000\"", ["_ts"] = 1700000000,
        };
        if (obj.Acl is not null) document["acl"] = obj.Acl.DeepClone();
        return document;
    }

    internal static async Task<(HttpStatusCode, JsonNode?)> InvokeAsync(CrmServer server, string function, JsonNode body, bool master = true)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{server.BaseUrl}/{function}")
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        // Outside the Functions host the endpoint is a door like any other: application id and master key.
        request.Headers.Add("X-Parse-Application-Id", CrmServer.AppId);
        if (master) request.Headers.Add("X-Parse-Master-Key", CrmServer.MasterKey);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonNode.Parse(text));
    }

    internal static JsonObject Invocation(params JsonNode[] documents) => new()
    {
        ["Data"] = new JsonObject { ["documents"] = new JsonArray(documents) },
        ["Metadata"] = new JsonObject { ["sys"] = new JsonObject { ["MethodName"] = "DealChanges", ["UtcNow"] = "2026-01-01T00:00:00Z" } },
    };

    [Fact]
    public async Task a_change_feed_batch_becomes_per_user_signalr_messages_including_removals()
    {
        // The previous-state hook is on by default only on the Cosmos store (the one with a change feed).
        using var server = FeedServer(new Dictionary<string, string?> { ["Realtime:PushFromWrites"] = "false", ["Realtime:KeepPreviousState"] = "true" });
        await CreateDealClassAsync(server);
        var (a, aId, _) = await server.UserAsync("alice");
        var (_, bId, _) = await server.UserAsync("bob");
        var (_, cId, _) = await server.UserAsync("carol");
        await server.CreateRoleAsync("Sales", cId);

        var dealId = await CreateDealAsync(a, new JsonObject { ["title"] = "Stark", ["stage"] = "lead", ["ACL"] = Acl((aId, true), ("role:Sales", false)) });
        var (status, created) = await InvokeAsync(server, "DealChanges", Invocation(await DocumentAsync(server, "Deal", dealId)));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Null(created!["ReturnValue"]);
        Assert.NotNull(created["Logs"]);
        var messages = created["Outputs"]!["signalRMessages"]!.AsArray();
        Assert.Equal(new[] { aId, cId }.Order(StringComparer.Ordinal), messages.Select(m => m!["userId"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.All(messages, m =>
        {
            Assert.Equal("created", m!["target"]!.GetValue<string>());
            Assert.Equal("Stark", m["arguments"]![0]!["object"]!["title"]!.GetValue<string>());
            Assert.Null(m["arguments"]![0]!["object"]!["_rtPrev"]);
        });

        // Re-assign to B: the change feed has only the new document; the hook's _rtPrev tells who lost it.
        (await a.PutAsync($"classes/Deal/{dealId}", new JsonObject { ["stage"] = "proposal", ["ACL"] = Acl((bId, true)) })).EnsureStatus(HttpStatusCode.OK);
        var document = await DocumentAsync(server, "Deal", dealId);
        (_, var moved) = await InvokeAsync(server, "DealChanges", new JsonObject
        {
            // The host may also pass the batch as JSON text.
            ["Data"] = new JsonObject { ["documents"] = new JsonArray(document.DeepClone()).ToJsonString() }, ["Metadata"] = new JsonObject(),
        });
        var byUser = moved!["Outputs"]!["signalRMessages"]!.AsArray().ToDictionary(m => m!["userId"]!.GetValue<string>(), m => m!);
        Assert.Equal(3, byUser.Count);
        Assert.Equal("created", byUser[bId]["target"]!.GetValue<string>());
        Assert.Equal("enter", byUser[bId]["arguments"]![0]!["op"]!.GetValue<string>());
        Assert.Null(byUser[bId]["arguments"]![0]!["previousStage"]);
        foreach (var lost in new[] { aId, cId })
        {
            Assert.Equal("deleted", byUser[lost]["target"]!.GetValue<string>());
            Assert.Equal("leave", byUser[lost]["arguments"]![0]!["op"]!.GetValue<string>());
            Assert.Equal("lead", byUser[lost]["arguments"]![0]!["object"]!["stage"]!.GetValue<string>());
        }

        // A soft-deleted document is a delete for whoever could read it.
        document["_deleted"] = true;
        (_, var deleted) = await InvokeAsync(server, "DealChanges", Invocation(document));
        var removal = Assert.Single(deleted!["Outputs"]!["signalRMessages"]!.AsArray());
        Assert.Equal(bId, removal!["userId"]!.GetValue<string>());
        Assert.Equal("deleted", removal["target"]!.GetValue<string>());
    }

    [Fact]
    public async Task previous_state_is_kept_only_where_a_change_feed_exists()
    {
        using var server = FeedServer();
        await CreateDealClassAsync(server);
        var (a, aId, _) = await server.UserAsync("dora");
        var dealId = await CreateDealAsync(a, new JsonObject { ["title"] = "Kept", ["stage"] = "lead", ["ACL"] = Acl((aId, true)) });
        (await a.PutAsync($"classes/Deal/{dealId}", new JsonObject { ["stage"] = "proposal" })).EnsureStatus(HttpStatusCode.OK);
        var stored = (await DocumentAsync(server, "Deal", dealId))["data"]!.AsObject();
        Assert.Equal("proposal", stored["stage"]!.GetValue<string>());
        Assert.Equal(CrmServer.UsesCosmos, stored.ContainsKey("_rtPrev"));
    }

    [Fact]
    public async Task the_change_feed_endpoint_refuses_strangers_and_tolerates_bad_payloads()
    {
        using var server = FeedServer();
        var (status, _) = await InvokeAsync(server, "DealChanges", Invocation(), master: false);
        Assert.Equal(HttpStatusCode.Forbidden, status);

        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{server.BaseUrl}/ActivityChanges") { Content = new StringContent("{not json") };
        request.Headers.Add("X-Parse-Application-Id", CrmServer.AppId);
        request.Headers.Add("X-Parse-Master-Key", CrmServer.MasterKey);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);

        (status, var empty) = await InvokeAsync(server, "ActivityChanges", new JsonObject
        {
            ["Data"] = new JsonObject { ["documents"] = new JsonArray(new JsonObject { ["id"] = 5 }, "text", null) },
        });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Empty(empty!["Outputs"]!["signalRMessages"]!.AsArray());
    }
}
