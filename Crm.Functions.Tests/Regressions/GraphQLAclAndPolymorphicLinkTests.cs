using Crm.Functions.Tests.GraphQL;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// GraphQL parity with parse-server (issue 18): an ACL without a public entry read as public {read: false, write: false}
/// instead of null; and a polymorphic pointer (Activity.relatedTo) refused a raw objectId in link, demanding a global id.
/// </summary>
public sealed class GraphQLAclAndPolymorphicLinkTests(CrmGraphQLFixture fixture) : IClassFixture<CrmGraphQLFixture>
{
    [Fact]
    public async Task an_acl_without_a_public_entry_reads_public_null_and_one_with_it_reads_it()
    {
        var (client, userId) = await fixture.UserAsync("aclnull");
        using var _ = client;
        var privateCompany = (await client.SendAsync("""
            mutation($me: ID!) { createCompany(input: {fields: {name: "Private", ACL: {users: [{userId: $me, read: true, write: true}]}}}) {
              company { ACL { users { read } public { read write } } } } }
            """, new { me = userId })).Ok()["createCompany"]!["company"]!;
        Assert.Null(privateCompany["ACL"]!["public"]);
        Assert.True(privateCompany["ACL"]!["users"]![0]!["read"]!.GetValue<bool>());

        var publicCompany = (await client.SendAsync("""
            mutation($me: ID!) { createCompany(input: {fields: {name: "Public", ACL: {users: [{userId: $me, read: true, write: true}], public: {read: true, write: false}}}}) {
              company { ACL { public { read write } } } } }
            """, new { me = userId })).Ok()["createCompany"]!["company"]!;
        Assert.Equal("""{"read":true,"write":false}""", publicCompany["ACL"]!["public"]!.ToJsonString());
    }

    [Fact]
    public async Task a_polymorphic_pointer_links_a_raw_object_id_held_by_exactly_one_target_class()
    {
        var (client, _) = await fixture.UserAsync("polylink");
        using var _c = client;
        var dealId = (await client.SendAsync("""mutation { createDeal(input: {fields: {title: "Poly", amount: 1, stage: "lead"}}) { deal { objectId } } }"""))
            .Ok()["createDeal"]!["deal"]!["objectId"]!.GetValue<string>();

        var activity = (await client.SendAsync("""
            mutation($deal: ID!) { createActivity(input: {fields: {type: "call", subject: "Raw id", relatedTo: {link: $deal}}}) {
              activity { relatedTo { __typename ... on Deal { objectId title } } } } }
            """, new { deal = dealId })).Ok()["createActivity"]!["activity"]!;
        Assert.Equal("Deal", activity["relatedTo"]!["__typename"]!.GetValue<string>());
        Assert.Equal(dealId, activity["relatedTo"]!["objectId"]!.GetValue<string>());

        // An id no target class holds is a 106 naming the field, and nothing is created.
        (await client.SendAsync("""mutation { createActivity(input: {fields: {type: "call", subject: "Nowhere", relatedTo: {link: "zzzzzzzzzz"}}}) { activity { objectId } } }"""))
            .ParseError(106);
        using var master = fixture.Server.Client().AsMaster();
        Assert.Equal(0, await master.CountAsync("Activity", new { subject = "Nowhere" }));
    }

    [Fact]
    public async Task an_object_id_the_caller_cannot_read_is_not_linked()
    {
        var (owner, _) = await fixture.UserAsync("polyowner");
        using var _o = owner;
        var (other, _) = await fixture.UserAsync("polyother");
        using var _x = other;
        var ownerId = (await owner.SendAsync("""{ viewer { user { objectId } } }""")).Ok()["viewer"]!["user"]!["objectId"]!.GetValue<string>();
        var hidden = (await owner.SendAsync("""
            mutation($me: ID!) { createDeal(input: {fields: {title: "Hidden", ACL: {users: [{userId: $me, read: true, write: true}]}}}) { deal { objectId } } }
            """, new { me = ownerId })).Ok()["createDeal"]!["deal"]!["objectId"]!.GetValue<string>();
        (await other.SendAsync("""mutation($id: ID!) { createActivity(input: {fields: {type: "call", subject: "Peek", relatedTo: {link: $id}}}) { activity { objectId } } }""",
            new { id = hidden })).ParseError(106);
    }
}
