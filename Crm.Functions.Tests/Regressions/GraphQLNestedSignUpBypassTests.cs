using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Issue 17 item 7: users created inside another GraphQL write (relation createAndAdd, pointer createAndLink) were
/// neither charged to the sign-up limit nor counted: one anonymous request created 80 users.
/// </summary>
public sealed class GraphQLNestedSignUpBypassTests
{
    /// <summary>An open class with a relation and a pointer to _User, so anonymous callers can nest user creates.</summary>
    private static async Task CreateTeamClassAsync(CrmServer server)
    {
        using var master = server.Client().AsMaster();
        (await master.PostAsync("schemas/Team", new JsonObject
        {
            ["className"] = "Team",
            ["fields"] = new JsonObject
            {
                ["name"] = new JsonObject { ["type"] = "String" },
                ["members"] = new JsonObject { ["type"] = "Relation", ["targetClass"] = "_User" },
                ["lead"] = new JsonObject { ["type"] = "Pointer", ["targetClass"] = "_User" },
            },
        })).EnsureStatus(HttpStatusCode.OK);
    }

    private static string NewUser(string name) => "{username: \"" + name + "\", password: \"correct horse battery\"}";

    /// <summary>A createTeam mutation (under an alias) whose fields are GraphQL input text.</summary>
    private static string CreateTeam(string alias, string fields) => alias + ": createTeam(input: {fields: {" + fields + "}}) { team { objectId } }";

    /// <summary>How many of the users a test tried to create (names prefix + "a" … prefix + "e") exist.</summary>
    private static async Task<long> UsersNamedAsync(CrmServer server, string prefix)
    {
        using var master = server.Client().AsMaster();
        var names = new JsonArray(new[] { "a", "b", "c", "d", "e" }.Select(n => (JsonNode?)(prefix + n)).ToArray());
        return await master.CountAsync("_User", new JsonObject { ["username"] = new JsonObject { ["$in"] = names } });
    }

    [Fact]
    public async Task users_created_inside_a_graphql_write_are_charged_to_the_sign_up_limit()
    {
        using var server = new CrmServer(new Dictionary<string, string?>
        {
            ["Parse:Accounts:AuthRequestsPerMinute"] = "2", ["Parse:Accounts:BcryptCost"] = "4",
        });
        await CreateTeamClassAsync(server);
        using var anonymous = new GraphQLClient(server);
        var prefix = Wire.Unique("n");

        var members = string.Join(" ", new[] { "a", "b", "c" }.Select(n => NewUser(prefix + n)));
        (await anonymous.SendAsync("mutation { " + CreateTeam("t", "members: {createAndAdd: [" + members + "]}") + " }")).ParseError(100);
        Assert.Equal(2, await UsersNamedAsync(server, prefix));

        // The limit is the one REST sign-ups share: this address has used it up.
        using var rest = server.Client();
        var signUp = await rest.PostAsync("users", new JsonObject { ["username"] = prefix + "d", ["password"] = "correct horse battery" });
        Assert.Equal(HttpStatusCode.TooManyRequests, signUp.Status);
        Assert.Equal(100, signUp.Code);
        Assert.Equal(2, await UsersNamedAsync(server, prefix));
    }

    [Fact]
    public async Task nested_creates_are_capped_per_graphql_document_across_fields_and_aliases()
    {
        using var server = new CrmServer(TestSettings.Fast(("Parse:Limits:MaxNestedCreates", "3")));
        await CreateTeamClassAsync(server);
        using var anonymous = new GraphQLClient(server);
        var prefix = Wire.Unique("n");

        var answer = await anonymous.SendAsync("mutation { "
            + CreateTeam("first", "members: {createAndAdd: [" + NewUser(prefix + "a") + " " + NewUser(prefix + "b") + "]}") + " "
            + CreateTeam("second", "lead: {createAndLink: " + NewUser(prefix + "c") + "}, members: {createAndAdd: [" + NewUser(prefix + "d") + "]}") + " }");
        answer.ParseError(102);
        Assert.NotNull(answer.Data!["first"]!["team"]!["objectId"]);
        Assert.Null(answer.Data!["second"]);
        // Two in the first mutation and the pointer's in the second: the fourth nested create was refused.
        Assert.Equal(3, await UsersNamedAsync(server, prefix));

        // A new document has a new budget.
        (await anonymous.SendAsync("mutation { " + CreateTeam("third", "members: {createAndAdd: [" + NewUser(prefix + "e") + "]}") + " }")).Ok();
    }
}
