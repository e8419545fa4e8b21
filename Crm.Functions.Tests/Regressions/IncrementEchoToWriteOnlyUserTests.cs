using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Issue 17 item 12: the write answer echoes operator results, which are stored values; an Increment by 0 (or an Add
/// of nothing) let a caller who may write but not read an object read its field. They are now echoed only to
/// callers who may read the object.
/// </summary>
public sealed class IncrementEchoToWriteOnlyUserTests(FastServerFixture fixture) : IClassFixture<FastServerFixture>
{
    [Fact]
    public async Task operator_results_are_not_echoed_to_a_caller_who_may_not_read_the_object()
    {
        var server = fixture.Server;
        using var alice = server.Client();
        var (aliceId, _) = await alice.SignUpAsync(Wire.Unique("alice"));
        using var bob = server.Client();
        var (bobId, _) = await bob.SignUpAsync(Wire.Unique("bob"));
        using var master = server.Client().AsMaster();
        var id = await master.CreateAsync("Score", new JsonObject
        {
            ["points"] = 41, ["tags"] = new JsonArray("secret"),
            ["ACL"] = new JsonObject { [aliceId] = new JsonObject { ["read"] = true, ["write"] = true }, [bobId] = new JsonObject { ["write"] = true } },
        });
        (await bob.GetAsync($"classes/Score/{id}")).EnsureError(101);

        var written = (await bob.PutAsync($"classes/Score/{id}", new JsonObject
        {
            ["points"] = new JsonObject { ["__op"] = "Increment", ["amount"] = 0 },
            ["tags"] = new JsonObject { ["__op"] = "Add", ["objects"] = new JsonArray() },
        })).EnsureStatus(HttpStatusCode.OK).Json!.AsObject();
        Assert.Equal(new[] { "updatedAt" }, written.Select(p => p.Key));

        // A batch sub-request is the same write through the same core.
        var batched = (await bob.BatchAsync([("PUT", $"classes/Score/{id}", new JsonObject { ["points"] = new JsonObject { ["__op"] = "Increment", ["amount"] = 1 } })]))
            .EnsureStatus(HttpStatusCode.OK).Json![0]!["success"]!.AsObject();
        Assert.Equal(new[] { "updatedAt" }, batched.Select(p => p.Key));

        // A caller who may read the object still gets the results, as Parse SDKs expect.
        var read = (await alice.PutAsync($"classes/Score/{id}", new JsonObject { ["points"] = new JsonObject { ["__op"] = "Increment", ["amount"] = 1 } }))
            .EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Equal(43, read["points"]!.GetValue<long>());
    }
}
