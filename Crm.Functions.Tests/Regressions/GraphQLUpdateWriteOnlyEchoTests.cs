using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.GraphQL;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Issue 17 item 4: a GraphQL update by a caller who may write an object but not read it (ACL write without read)
/// answered with the whole stored object, which the same caller's REST GET refuses with 101.
/// </summary>
public sealed class GraphQLUpdateWriteOnlyEchoTests : IDisposable
{
    private readonly CrmServer _server = new(TestSettings.Fast());

    public void Dispose() => _server.Dispose();

    private async Task<(string AliceToken, string AliceId, string BobToken, string BobId)> UsersAsync()
    {
        await CrmClasses.CreateAsync(_server);
        using var aliceRest = _server.Client();
        var (aliceId, aliceToken) = await aliceRest.SignUpAsync(Wire.Unique("alice"));
        using var bobRest = _server.Client();
        var (bobId, bobToken) = await bobRest.SignUpAsync(Wire.Unique("bob"));
        return (aliceToken, aliceId, bobToken, bobId);
    }

    [Fact]
    public async Task a_write_only_caller_gets_the_write_answer_not_the_stored_object()
    {
        var (aliceToken, aliceId, bobToken, bobId) = await UsersAsync();
        using var alice = _server.Client().WithSession(aliceToken);
        var companyId = await alice.CreateAsync("Company", new JsonObject
        {
            ["name"] = "Acme", ["notes"] = "hidden notes", ["website"] = "https://hidden.example",
            ["ACL"] = new JsonObject { [aliceId] = new JsonObject { ["read"] = true, ["write"] = true }, [bobId] = new JsonObject { ["write"] = true } },
        });
        using var bobRest = _server.Client().WithSession(bobToken);
        (await bobRest.GetAsync($"classes/Company/{companyId}")).EnsureError(101);
        using var bob = new GraphQLClient(_server).WithSession(bobToken);

        var empty = await bob.SendAsync("""
            mutation($id: ID!) { updateCompany(input: {id: $id, fields: {}}) { company { objectId updatedAt notes website } } }
            """, new JsonObject { ["id"] = companyId });
        var company = empty.Ok()["updateCompany"]!["company"]!;
        Assert.Equal(companyId, company["objectId"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(company["updatedAt"]!.GetValue<string>()));
        Assert.Null(company["notes"]);
        Assert.Null(company["website"]);
        Assert.DoesNotContain("hidden", empty.Raw, StringComparison.Ordinal);

        // What the caller sent it gets back; what it did not send stays hidden.
        var sent = (await bob.SendAsync("""
            mutation($id: ID!) { updateCompany(input: {id: $id, fields: {website: "https://bob.example"}}) { company { objectId notes website } } }
            """, new JsonObject { ["id"] = companyId })).Ok()["updateCompany"]!["company"]!;
        Assert.Equal("https://bob.example", sent["website"]!.GetValue<string>());
        Assert.Null(sent["notes"]);

        // The reader still sees the whole object, with the write applied.
        var stored = (await alice.GetAsync($"classes/Company/{companyId}")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Equal("https://bob.example", stored["website"]!.GetValue<string>());
        Assert.Equal("hidden notes", stored["notes"]!.GetValue<string>());
    }

    [Fact]
    public async Task a_create_the_caller_cannot_read_answers_what_it_sent()
    {
        var (aliceToken, aliceId, bobToken, _) = await UsersAsync();
        using var alice = _server.Client().WithSession(aliceToken);
        using var bob = new GraphQLClient(_server).WithSession(bobToken);
        var created = (await bob.SendAsync("""
            mutation($alice: ID!) { createCompany(input: {fields: {name: "For Alice", website: "https://alice.example",
              ACL: {users: [{userId: $alice, read: true, write: true}]}}}) { company { objectId name website notes } } }
            """, new JsonObject { ["alice"] = aliceId })).Ok()["createCompany"]!["company"]!;
        Assert.Equal("For Alice", created["name"]!.GetValue<string>());
        Assert.Equal("https://alice.example", created["website"]!.GetValue<string>());
        Assert.Null(created["notes"]);
        var id = created["objectId"]!.GetValue<string>();
        Assert.Equal("For Alice", (await alice.GetAsync($"classes/Company/{id}")).EnsureStatus(HttpStatusCode.OK).Json!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task a_delete_of_an_object_the_caller_cannot_read_is_a_plain_101()
    {
        var (aliceToken, aliceId, bobToken, bobId) = await UsersAsync();
        using var alice = _server.Client().WithSession(aliceToken);
        var companyId = await alice.CreateAsync("Company", new JsonObject
        {
            ["name"] = "Acme", ["notes"] = "hidden notes",
            ["ACL"] = new JsonObject { [aliceId] = new JsonObject { ["read"] = true, ["write"] = true }, [bobId] = new JsonObject { ["write"] = true } },
        });
        using var bob = new GraphQLClient(_server).WithSession(bobToken);
        var answer = await bob.SendAsync("""mutation($id: ID!) { deleteCompany(input: {id: $id}) { company { objectId notes } } }""",
            new JsonObject { ["id"] = companyId });
        answer.ParseError(101);
        Assert.DoesNotContain("hidden", answer.Raw, StringComparison.Ordinal);
        (await alice.GetAsync($"classes/Company/{companyId}")).EnsureStatus(HttpStatusCode.OK);
    }
}
