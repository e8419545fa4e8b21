using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Store;
using Crm.Functions.Realtime;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Crm.Functions.Tests.Realtime.RealtimeFixtures;

namespace Crm.Functions.Tests.Realtime;

/// <summary>
/// Real-time delete pushes go through an outbox (Realtime/DeletePushOutbox.cs): a hard delete leaves nothing a change feed
/// could push again, so the delete is stored with a record of its push, removed once every send has run. A process that
/// stops or dies with sends outstanding leaves the records, and the next process pushes them (at least once). Against the
/// Azure SignalR stand-in, where the service keeps clients connected while instances come and go.
/// </summary>
public sealed class DeletePushOutboxTests : IDisposable
{
    private const string AccessKey = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq=";

    private readonly string _dataFolder = Directory.CreateTempSubdirectory("crm-delete-outbox-").FullName;

    private static SignalRServiceStandIn Service() =>
        new((authorization, _) => authorization?.StartsWith("Bearer ", StringComparison.Ordinal) == true);

    private static string ConnectionString(SignalRServiceStandIn service) => $"Endpoint={service.Endpoint};AccessKey={AccessKey};Version=1.0;";

    private CrmServer Server(SignalRServiceStandIn service) => FeedServer(new Dictionary<string, string?>
    {
        ["Parse:DataFolder"] = _dataFolder,
        ["Azure:SignalR:ConnectionString"] = ConnectionString(service),
        ["Realtime:DeleteOutboxGraceSeconds"] = "0.5",
    });

    /// <summary>The calls that reach the service, each within 15 s (a restarted server first waits out the grace period), then none for a while (a record pushed again would show).</summary>
    private static List<ServiceCall> Expect(SignalRServiceStandIn service, int count, TimeSpan? quiet = null) =>
        service.Expect(count, quiet, wait: TimeSpan.FromSeconds(15));

    private static (string User, string Target, string ObjectId) Push(ServiceCall call)
    {
        var message = JsonNode.Parse(call.Body)!;
        return (SignalRServiceStandIn.UserOf(call), message["target"]!.GetValue<string>(),
            message["arguments"]![0]!["objectId"]!.GetValue<string>());
    }

    private static async Task<int> OutboxCountAsync(CrmServer server) =>
        (await server.Services.GetRequiredService<IObjectStore>()
            .FindAsync(new StoreQuery(DeletePushOutbox.ClassName, QueryNode.True, [], 0, 100), CancellationToken.None)).Count;

    /// <summary>The outbox empties once the pushes ran (the record goes after the last send, off the request).</summary>
    private static async Task WaitForEmptyOutboxAsync(CrmServer server)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (await OutboxCountAsync(server) > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{await OutboxCountAsync(server)} outbox records left after the pushes");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task a_delete_is_pushed_once_to_each_reader_and_leaves_no_outbox_record()
    {
        await using var service = Service();
        using var server = Server(service);
        await CreateDealClassAsync(server);
        var (a, aId, _) = await server.UserAsync("alice");
        var (_, bId, _) = await server.UserAsync("bob");
        var (_, cId, _) = await server.UserAsync("carol");
        var deals = new List<string>();
        for (var i = 0; i < 2; i++) deals.Add(await CreateDealAsync(a, new JsonObject { ["title"] = $"Deal {i}", ["ACL"] = Acl((aId, true), (cId, false)) }));
        Assert.Empty(service.Calls); // creates are the change feed's

        foreach (var id in deals) (await a.DeleteAsync($"classes/Deal/{id}")).EnsureStatus(HttpStatusCode.OK);
        // Each reader once per delete — and nothing more after the grace period: the records went with the pushes.
        var pushes = Expect(service, 4, quiet: TimeSpan.FromSeconds(2)).Select(Push).ToList();
        Assert.All(pushes, p => Assert.Equal("deleted", p.Target));
        Assert.Equal(deals, pushes.Where(p => p.User == aId).Select(p => p.ObjectId));
        Assert.Equal(deals, pushes.Where(p => p.User == cId).Select(p => p.ObjectId));
        Assert.DoesNotContain(pushes, p => p.User == bId);
        await WaitForEmptyOutboxAsync(server);
    }

    [Fact]
    public async Task deletes_whose_pushes_a_stopping_server_left_unsent_are_pushed_by_the_next_one()
    {
        await using var service = Service();
        List<string> deals = [];
        string aId, cId;
        using (var first = Server(service))
        {
            await CreateDealClassAsync(first);
            var (a, alice, _) = await first.UserAsync("alice");
            (_, cId, _) = await first.UserAsync("carol");
            aId = alice;
            for (var i = 0; i < 3; i++) deals.Add(await CreateDealAsync(a, new JsonObject { ["title"] = $"Deal {i}", ["ACL"] = Acl((aId, true), (cId, false)) }));

            // Carol's sends hang at the service; alice's arrive. The server stops with carol's outstanding.
            service.Hold(cId);
            foreach (var id in deals) (await a.DeleteAsync($"classes/Deal/{id}")).EnsureStatus(HttpStatusCode.OK);
            Assert.All(Expect(service, 3), c => Assert.Equal(aId, Push(c).User));
            Assert.True(service.HeldArrivals.TryTake(out _, TimeSpan.FromSeconds(15)), "carol's first push never reached the service");
            Assert.Equal(3, await OutboxCountAsync(first));
        }
        service.Drop(cId);

        // The next server on the same store pushes all three again: carol gets hers, alice hers a second time (at least once).
        using var next = Server(service);
        var pushes = Expect(service, 6, quiet: TimeSpan.FromSeconds(2)).Select(Push).ToList();
        Assert.All(pushes, p => Assert.Equal("deleted", p.Target));
        Assert.Equal(deals.Order(StringComparer.Ordinal), pushes.Where(p => p.User == cId).Select(p => p.ObjectId).Order(StringComparer.Ordinal));
        Assert.Equal(deals.Order(StringComparer.Ordinal), pushes.Where(p => p.User == aId).Select(p => p.ObjectId).Order(StringComparer.Ordinal));
        await WaitForEmptyOutboxAsync(next);
    }

    /// <summary>
    /// The built server SIGKILLed while a reader's delete pushes hang: the restarted server pushes them. Runs the process on the
    /// embedded store, where the record is committed in the delete's own transaction; Cosmos DB's held records are covered
    /// by the tests above on that store.
    /// </summary>
    [Fact]
    public async Task sigkill_with_delete_pushes_outstanding_then_restart_pushes_them()
    {
        await using var service = Service();
        var settings = new Dictionary<string, string>
        {
            ["Azure__SignalR__ConnectionString"] = ConnectionString(service),
            ["Realtime__DeleteOutboxGraceSeconds"] = "0.5",
            ["Classes__Deal__Feed"] = "true",
        };
        var deals = new List<string>();
        string aId, cId;
        await using (var server = ServerProcess.Start(_dataFolder, settings))
        {
            await server.WaitForHealthAsync();
            using var http = server.Client();
            aId = await SignUpAsync(http, "alice");
            cId = await SignUpAsync(http, "carol");
            for (var i = 0; i < 3; i++)
            {
                using var created = await http.PostAsync("classes/Deal", Json(new JsonObject { ["title"] = $"Deal {i}", ["ACL"] = Acl((aId, true), (cId, false)) }));
                Assert.Equal(HttpStatusCode.Created, created.StatusCode);
                deals.Add(JsonNode.Parse(await created.Content.ReadAsStringAsync())!["objectId"]!.GetValue<string>());
            }
            service.Hold(cId);
            foreach (var id in deals)
            {
                using var deleted = await http.DeleteAsync($"classes/Deal/{id}");
                Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
            }
            Assert.All(Expect(service, 3), c => Assert.Equal(aId, Push(c).User));
            Assert.True(service.HeldArrivals.TryTake(out _, TimeSpan.FromSeconds(15)), $"carol's first push never reached the service\n{server.Output}");
            await server.KillAsync();
        }
        service.Drop(cId);

        await using (var server = ServerProcess.Start(_dataFolder, settings))
        {
            await server.WaitForHealthAsync();
            List<(string User, string Target, string ObjectId)> pushes;
            try
            {
                pushes = Expect(service, 6, quiet: TimeSpan.FromSeconds(2)).Select(Push).ToList();
            }
            catch (Xunit.Sdk.XunitException e)
            {
                throw new InvalidOperationException($"{e.Message}\nThe restarted server's output:\n{server.Output}", e);
            }
            Assert.All(pushes, p => Assert.Equal("deleted", p.Target));
            Assert.Equal(deals.Order(StringComparer.Ordinal), pushes.Where(p => p.User == cId).Select(p => p.ObjectId).Order(StringComparer.Ordinal));
            Assert.Equal(deals.Order(StringComparer.Ordinal), pushes.Where(p => p.User == aId).Select(p => p.ObjectId).Order(StringComparer.Ordinal));
        }
    }

    private static StringContent Json(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    private static async Task<string> SignUpAsync(HttpClient http, string name)
    {
        using var response = await http.PostAsync("users", Json(new JsonObject { ["username"] = name, ["password"] = "a long enough password" }));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["objectId"]!.GetValue<string>();
    }

    public void Dispose()
    {
        try { Directory.Delete(_dataFolder, recursive: true); }
        catch (IOException) { }
    }
}
