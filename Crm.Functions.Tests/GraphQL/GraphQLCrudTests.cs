using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.GraphQL;

/// <summary>Create, read, update and delete of every CRM class through GraphQL mutations and queries.</summary>
public sealed class GraphQLCrudTests(CrmGraphQLFixture fixture) : IClassFixture<CrmGraphQLFixture>
{
    [Fact]
    public async Task health_answers_true_with_only_the_application_id()
    {
        using var client = new GraphQLClient(fixture.Server);
        var data = (await client.SendAsync("{ health }")).Ok();
        Assert.True(data["health"]!.GetValue<bool>());
    }

    [Fact]
    public async Task company_contact_deal_and_activity_are_created_read_updated_and_deleted()
    {
        var (client, userId) = await fixture.UserAsync("crud");
        using var _ = client;

        var company = (await client.SendAsync("""
            mutation { createCompany(input: {clientMutationId: "c1", fields: {name: "Acme", industry: "Tools", website: "https://acme.test"}}) {
              clientMutationId company { id objectId name industry createdAt updatedAt ACL { public { read write } } } } }
            """)).Ok()["createCompany"]!;
        Assert.Equal("c1", company["clientMutationId"]!.GetValue<string>());
        var companyId = company["company"]!["id"]!.GetValue<string>();
        var companyObjectId = company["company"]!["objectId"]!.GetValue<string>();
        Assert.Equal(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("Company:" + companyObjectId)), companyId);
        Assert.Equal("Acme", company["company"]!["name"]!.GetValue<string>());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", company["company"]!["createdAt"]!.GetValue<string>());

        var contact = (await client.SendAsync("""
            mutation($company: ID!) { createContact(input: {fields: {name: "Jane Doe", email: "jane@acme.test", company: {link: $company}}}) {
              contact { id name email company { objectId name } } } }
            """, new { company = companyId })).Ok()["createContact"]!["contact"]!;
        Assert.Equal("Acme", contact["company"]!["name"]!.GetValue<string>());
        var contactId = contact["id"]!.GetValue<string>();

        // A raw objectId is accepted wherever an id is, and createAndLink makes the pointed object first.
        var deal = (await client.SendAsync("""
            mutation($company: ID!, $contact: ID!, $me: ID!) { createDeal(input: {fields: {
                title: "Acme renewal", amount: 12000, stage: "lead", expectedCloseDate: "2030-06-30T00:00:00.000Z",
                company: {link: $company}, contact: {link: $contact}, assignedTo: {link: $me},
                ACL: {users: [{userId: $me, read: true, write: true}], public: {read: false, write: false}}}}) {
              deal { id objectId title amount stage expectedCloseDate company { name } contact { name } assignedTo { objectId }
                     ACL { users { userId read write } public { read write } } } } }
            """, new { company = companyObjectId, contact = contactId, me = userId })).Ok()["createDeal"]!["deal"]!;
        Assert.Equal(12000, deal["amount"]!.GetValue<double>());
        Assert.Equal("2030-06-30T00:00:00.000Z", deal["expectedCloseDate"]!.GetValue<string>());
        Assert.Equal("Jane Doe", deal["contact"]!["name"]!.GetValue<string>());
        Assert.Equal(userId, deal["assignedTo"]!["objectId"]!.GetValue<string>());
        // No "*" entry is stored for public {read: false, write: false}: Parse reads that back as public: null.
        Assert.Null(deal["ACL"]!["public"]);
        Assert.Equal(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("_User:" + userId)), deal["ACL"]!["users"]![0]!["userId"]!.GetValue<string>());
        var dealId = deal["id"]!.GetValue<string>();

        var activity = (await client.SendAsync("""
            mutation($deal: ID!) { createActivity(input: {fields: {type: "call", subject: "Kick-off", dueDate: "2030-01-02T10:00:00Z", relatedTo: {link: $deal}}}) {
              activity { id type subject dueDate relatedTo { __typename ... on Deal { title } ... on Contact { name } } } } }
            """, new { deal = dealId })).Ok()["createActivity"]!["activity"]!;
        Assert.Equal("Deal", activity["relatedTo"]!["__typename"]!.GetValue<string>());
        Assert.Equal("Acme renewal", activity["relatedTo"]!["title"]!.GetValue<string>());
        Assert.Equal("2030-01-02T10:00:00.000Z", activity["dueDate"]!.GetValue<string>());
        var activityId = activity["id"]!.GetValue<string>();

        // Read back by global id, through the get query and through node.
        var read = (await client.SendAsync("""
            query($deal: ID!, $activity: ID!) { deal(id: $deal) { title stage } node(id: $activity) { id ... on Activity { subject } } }
            """, new { deal = dealId, activity = activityId })).Ok();
        Assert.Equal("lead", read["deal"]!["stage"]!.GetValue<string>());
        Assert.Equal("Kick-off", read["node"]!["subject"]!.GetValue<string>());

        // Update: a value changes, null unsets.
        var updated = (await client.SendAsync("""
            mutation($deal: ID!) { updateDeal(input: {id: $deal, fields: {stage: "won", amount: null}}) { deal { stage amount title } } }
            """, new { deal = dealId })).Ok()["updateDeal"]!["deal"]!;
        Assert.Equal("won", updated["stage"]!.GetValue<string>());
        Assert.Null(updated["amount"]);
        Assert.Equal("Acme renewal", updated["title"]!.GetValue<string>());
        (await client.SendAsync("""mutation($c: ID!) { updateCompany(input: {id: $c, fields: {notes: "Key account"}}) { company { notes } } }""",
            new { c = companyId })).Ok();
        (await client.SendAsync("""mutation($c: ID!) { updateContact(input: {id: $c, fields: {phone: "+33 1 23"}}) { contact { phone } } }""",
            new { c = contactId })).Ok();
        Assert.Equal("done", (await client.SendAsync("""mutation($a: ID!) { updateActivity(input: {id: $a, fields: {subject: "done"}}) { activity { subject } } }""",
            new { a = activityId })).Ok()["updateActivity"]!["activity"]!["subject"]!.GetValue<string>());

        // Delete returns the object as it was; afterwards it is gone (101, as REST answers).
        foreach (var (mutation, field, id) in new[] { ("deleteActivity", "activity", activityId), ("deleteDeal", "deal", dealId), ("deleteContact", "contact", contactId), ("deleteCompany", "company", companyId) })
        {
            var deleted = (await client.SendAsync($$"""mutation($id: ID!) { {{mutation}}(input: {id: $id}) { {{field}} { id } } }""", new { id })).Ok();
            Assert.Equal(id, deleted[mutation]![field]!["id"]!.GetValue<string>());
        }
        (await client.SendAsync("query($deal: ID!) { deal(id: $deal) { title } }", new { deal = dealId })).ParseError(101);
    }

    [Fact]
    public async Task a_missing_required_field_is_a_graphql_validation_error_not_a_500()
    {
        var (client, _) = await fixture.UserAsync("req");
        using var _c = client;
        var response = await client.SendAsync("""mutation { createDeal(input: {fields: {amount: 5}}) { deal { id } } }""");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("GRAPHQL_VALIDATION_FAILED", response.Errors![0]!["extensions"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task a_pointer_input_needs_exactly_one_of_link_and_createAndLink()
    {
        var (client, _) = await fixture.UserAsync("ptr");
        using var _c = client;
        var error = (await client.SendAsync("""mutation { createDeal(input: {fields: {title: "x", company: {}}}) { deal { id } } }""")).ParseError(106);
        Assert.Contains("company", error["message"]!.GetValue<string>(), StringComparison.Ordinal);

        var created = (await client.SendAsync("""
            mutation { createDeal(input: {fields: {title: "nested", company: {createAndLink: {name: "Nested Co"}}}}) { deal { company { name } } } }
            """)).Ok();
        Assert.Equal("Nested Co", created["createDeal"]!["deal"]!["company"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task users_are_exposed_as_User_without_password()
    {
        var (client, userId) = await fixture.UserAsync("usr");
        using var _c = client;
        using var master = new GraphQLClient(fixture.Server).AsMaster(); // introspection is the master key's by default
        var type = (await master.SendAsync("""{ __type(name: "User") { fields { name } } }""")).Ok()["__type"]!["fields"]!.AsArray()
            .Select(f => f!["name"]!.GetValue<string>()).ToList();
        Assert.Contains("username", type);
        Assert.DoesNotContain("password", type);
        Assert.DoesNotContain("authData", type);
        var me = (await client.SendAsync("query($id: ID!) { user(id: $id) { objectId username } users(where: {objectId: {equalTo: $id}}) { count } }",
            new JsonObject { ["id"] = userId })).Ok();
        Assert.Equal(userId, me["user"]!["objectId"]!.GetValue<string>());
        Assert.Equal(1, me["users"]!["count"]!.GetValue<int>());
    }
}
