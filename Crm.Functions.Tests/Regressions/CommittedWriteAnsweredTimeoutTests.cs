using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Storage.Cosmos;
using Crm.Functions.Tests.Infrastructure;
using Crm.Functions.Tests.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Bug: on Cosmos DB a journaled write (here a Deal, whose history is recorded) that committed just as its request ran out
/// of time answered 124. After the change is written its held records are released, and each release was a store statement
/// charged to the request's budget, which refused it: the client was told the write failed (and would make it again) while
/// it was stored, and its history entry stayed held. The same for what a committed write causes: a sign-up whose user was
/// stored as its time ran out answered 124 without the session its after-save rule creates (and the retry found the
/// username taken). Releasing and the after-commit rules now run outside the budget. The creates are held back past the
/// request's time by a handler in front of the real SDK; on SQLite (one transaction, nothing to release) the same
/// requests run as a plain check.
/// </summary>
public sealed class CommittedWriteAnsweredTimeoutTests
{
    /// <summary>
    /// Holds back the answers to document creates in one container while enabled (the create itself is done) until the
    /// writing request's time has run out — whatever the machine's load made of the time before.
    /// </summary>
    private sealed class SlowCreates : DelegatingHandler
    {
        public volatile string? ClassName;
        public int Slowed;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (ClassName is { } slowed && request.Method == HttpMethod.Post && !request.Headers.Contains("x-ms-documentdb-isquery")
                && request.RequestUri!.AbsolutePath.EndsWith($"/colls/{slowed}/docs", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref Slowed);
                var left = global::Crm.Functions.Core.Requests.RequestBudget.Current?.TimeLeft ?? TimeSpan.Zero;
                await Task.Delay(left + TimeSpan.FromMilliseconds(200), cancellationToken);
            }
            return response;
        }
    }

    private static CrmServer Server(SlowCreates slow)
    {
        var settings = TestSettings.Fast();
        settings["Parse:Limits:RequestTimeoutMilliseconds"] = "5000";
        return new CrmServer(settings, services =>
        {
            if (CrmServer.UsesCosmos)
                services.AddSingleton(new CosmosClientHooks(options => CosmosTestServer.Instance.Configure(options, slow), replaceIndexingPolicy: false));
        });
    }

    [Fact]
    public async Task a_create_that_committed_as_its_time_ran_out_answers_201_and_its_history_entry_shows()
    {
        var slow = new SlowCreates();
        using var server = Server(slow);
        using (var master = server.Client().AsMaster())
            (await master.PostAsync("schemas/Deal", new JsonObject { ["fields"] = new JsonObject { ["title"] = new JsonObject { ["type"] = "String" } } }))
                .EnsureStatus(HttpStatusCode.OK);
        var (alice, _, _) = await server.UserAsync("alice");

        slow.ClassName = "Deal";
        var created = await alice.PostAsync("classes/Deal", new JsonObject { ["title"] = "Slow to answer" });
        slow.ClassName = null;
        created.EnsureStatus(HttpStatusCode.Created);
        if (CrmServer.UsesCosmos) Assert.Equal(1, slow.Slowed);
        var id = created.Json!["objectId"]!.GetValue<string>();

        // Released with the answer, not left held until a recovery round.
        var entry = Assert.Single(await History.HistoryTests.HistoryAsync(alice, "Deal", id));
        Assert.Equal("create", entry!["event"]!.GetValue<string>());
    }

    [Fact]
    public async Task a_sign_up_stored_as_its_time_ran_out_answers_201_with_its_session()
    {
        var slow = new SlowCreates();
        using var server = Server(slow);
        using var client = server.Client();
        var username = "late" + Guid.NewGuid().ToString("N")[..8];

        slow.ClassName = "_User";
        var signedUp = await client.PostAsync("users", new JsonObject { ["username"] = username, ["password"] = "a long enough password" });
        slow.ClassName = null;
        signedUp.EnsureStatus(HttpStatusCode.Created);
        if (CrmServer.UsesCosmos) Assert.Equal(1, slow.Slowed);

        // The session the after-save rule created is the one answered, and it works.
        var token = signedUp.Json!["sessionToken"]!.GetValue<string>();
        var me = await client.WithSession(token).GetAsync("users/me");
        me.EnsureStatus(HttpStatusCode.OK);
        Assert.Equal(username, me.Json!["username"]!.GetValue<string>());
    }
}
