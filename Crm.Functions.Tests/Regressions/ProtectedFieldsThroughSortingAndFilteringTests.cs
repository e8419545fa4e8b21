using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Issue 17 item 6: sorting by a protected field revealed it (a binary search on <c>order=email</c> recovered another
/// user's email), in REST and GraphQL alike; <c>authData</c> was hidden in output but could be filtered on.
/// </summary>
public sealed class ProtectedFieldsThroughSortingAndFilteringTests(FastServerFixture fixture) : IClassFixture<FastServerFixture>
{
    private CrmServer Server => fixture.Server;

    /// <summary>A user whose _User object everyone may read (only its protected fields stay hidden).</summary>
    private async Task<string> PublicUserAsync(JsonObject? authData = null)
    {
        using var master = Server.Client().AsMaster();
        var body = new JsonObject
        {
            ["username"] = Wire.Unique("alice"), ["password"] = "correct horse battery",
            ["email"] = Wire.Unique("alice") + "@example.com",
            ["ACL"] = new JsonObject { ["*"] = new JsonObject { ["read"] = true } },
        };
        if (authData is not null) body["authData"] = authData;
        return (await master.PostAsync("users", body)).EnsureStatus(HttpStatusCode.Created).Json!["objectId"]!.GetValue<string>();
    }

    private async Task<ParseClient> OtherUserAsync()
    {
        var bob = Server.Client();
        await bob.SignUpAsync(Wire.Unique("bob"));
        return bob;
    }

    [Fact]
    public async Task sorting_users_by_a_protected_email_is_refused_in_rest()
    {
        var alice = await PublicUserAsync();
        using var bob = await OtherUserAsync();
        Assert.Contains(alice, await bob.IdsAsync("_User", extra: "order=username"));
        foreach (var order in new[] { "email", "-email", "username,email" })
            (await bob.QueryAsync("_User", extra: "order=" + Uri.EscapeDataString(order))).EnsureError(119);
        (await bob.GetAsync("users?order=email")).EnsureError(119);

        using var master = Server.Client().AsMaster();
        (await master.QueryAsync("_User", extra: "order=email")).EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task sorting_users_by_a_protected_email_is_refused_in_graphql()
    {
        await PublicUserAsync();
        using var bob = await OtherUserAsync();
        using var graphql = new GraphQLClient(Server).WithSession(bob.SessionToken);
        var answer = await graphql.SendAsync("{ users(order: [email_ASC]) { edges { node { objectId } } } }");
        Assert.True(answer.Json?["errors"] is JsonArray { Count: > 0 }, answer.Raw);
        Assert.Contains("not allowed to query email", answer.Raw, StringComparison.Ordinal);
        Assert.True(answer.Json?["data"]?["users"] is null, answer.Raw);
    }

    [Fact]
    public async Task auth_data_can_be_neither_filtered_nor_sorted_on_by_other_users()
    {
        var tenant = "72f9" + Guid.NewGuid().ToString("N")[..8];
        var alice = await PublicUserAsync(new JsonObject { ["entra"] = new JsonObject { ["id"] = Guid.NewGuid().ToString(), ["tid"] = tenant } });
        using var bob = await OtherUserAsync();
        (await bob.QueryAsync("_User", new JsonObject { ["authData.entra.tid"] = new JsonObject { ["$regex"] = "^72f9" } })).EnsureError(119);
        (await bob.QueryAsync("_User", new JsonObject { ["authData"] = new JsonObject { ["$exists"] = true } })).EnsureError(119);
        (await bob.QueryAsync("_User", extra: "order=authData.entra.tid")).EnsureError(119);

        using var master = Server.Client().AsMaster();
        Assert.Equal([alice], await master.IdsAsync("_User", new JsonObject { ["authData.entra.tid"] = tenant }));
    }
}
