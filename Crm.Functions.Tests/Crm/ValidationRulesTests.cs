using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using Crm.Functions.Tests.Mcp;

namespace Crm.Functions.Tests.CrmTemplate;

/// <summary>
/// The CRM's value rules and the company delete rule: Parse error 142 whose message starts with the field's name
/// (clients show it at the field), on every door, because they are rules of the core.
/// </summary>
public sealed class ValidationRulesTests(TemplateServerFixture fixture) : IClassFixture<TemplateServerFixture>
{
    private readonly CrmServer _server = fixture.Server;

    private static string Message(ParseResponse response) => response.Json!["error"]!.GetValue<string>();

    [Theory]
    [InlineData("not-an-email")]
    [InlineData("ada@")]
    [InlineData("@example.com")]
    [InlineData("ada@example")]
    [InlineData("ada lovelace@example.com")]
    [InlineData("ada@@example.com")]
    public async Task a_contact_email_must_be_an_email_address(string email)
    {
        var (alice, _, _) = await _server.UserAsync("alice");
        var refused = (await alice.PostAsync("classes/Contact", new JsonObject { ["name"] = "Ada", ["email"] = email })).EnsureError(142);
        Assert.StartsWith("email ", Message(refused), StringComparison.Ordinal);

        var id = await Tools.CreateAsync(alice, "Contact", new JsonObject { ["name"] = "Ada", ["email"] = "ada.lovelace+crm@example.co.uk" });
        (await alice.PutAsync($"classes/Contact/{id}", new JsonObject { ["email"] = email })).EnsureError(142);
        var stored = (await alice.GetAsync($"classes/Contact/{id}")).Json!;
        Assert.Equal("ada.lovelace+crm@example.co.uk", stored["email"]!.GetValue<string>());
    }

    [Fact]
    public async Task an_email_may_be_left_out_or_cleared_and_other_fields_change_freely()
    {
        var (alice, _, _) = await _server.UserAsync("alice");
        var id = await Tools.CreateAsync(alice, "Contact", new JsonObject { ["name"] = "Ada" });
        (await alice.PutAsync($"classes/Contact/{id}", new JsonObject { ["email"] = "" })).EnsureStatus(HttpStatusCode.OK);
        (await alice.PutAsync($"classes/Contact/{id}", new JsonObject { ["email"] = new JsonObject { ["__op"] = "Delete" } })).EnsureStatus(HttpStatusCode.OK);
        (await alice.PutAsync($"classes/Contact/{id}", new JsonObject { ["phone"] = "+44 20 7946 0000" })).EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task a_deal_amount_must_not_be_negative()
    {
        var (alice, _, _) = await _server.UserAsync("alice");
        var refused = (await alice.PostAsync("classes/Deal", new JsonObject { ["title"] = "Pilot", ["amount"] = -500 })).EnsureError(142);
        Assert.StartsWith("amount ", Message(refused), StringComparison.Ordinal);

        var id = await Tools.CreateAsync(alice, "Deal", new JsonObject { ["title"] = "Pilot", ["amount"] = 0 });
        (await alice.PutAsync($"classes/Deal/{id}", new JsonObject { ["amount"] = -0.01 })).EnsureError(142);
        // An Increment that would end below zero is refused alike: the rule sees the value about to be stored.
        (await alice.PutAsync($"classes/Deal/{id}", new JsonObject { ["amount"] = new JsonObject { ["__op"] = "Increment", ["amount"] = -1 } })).EnsureError(142);
        (await alice.PutAsync($"classes/Deal/{id}", new JsonObject { ["amount"] = 12_500 })).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal(12_500, (await alice.GetAsync($"classes/Deal/{id}")).Json!["amount"]!.GetValue<double>());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public async Task an_activity_needs_a_subject(string? subject)
    {
        var (alice, _, _) = await _server.UserAsync("alice");
        var body = new JsonObject { ["type"] = "call" };
        if (subject is not null) body["subject"] = subject;
        var refused = (await alice.PostAsync("classes/Activity", body)).EnsureError(142);
        Assert.StartsWith("subject ", Message(refused), StringComparison.Ordinal);

        var id = await Tools.CreateAsync(alice, "Activity", new JsonObject { ["type"] = "call", ["subject"] = "Intro call" });
        (await alice.PutAsync($"classes/Activity/{id}", new JsonObject { ["subject"] = subject ?? "" })).EnsureError(142);
        (await alice.PutAsync($"classes/Activity/{id}", new JsonObject { ["subject"] = new JsonObject { ["__op"] = "Delete" } })).EnsureError(142);
        (await alice.PutAsync($"classes/Activity/{id}", new JsonObject { ["description"] = "Left a voicemail" })).EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task stage_and_type_messages_name_the_field_and_dates_must_be_dates()
    {
        var (alice, _, _) = await _server.UserAsync("alice");
        Assert.StartsWith("stage ", Message((await alice.PostAsync("classes/Deal", new JsonObject { ["title"] = "X", ["stage"] = "maybe" })).EnsureError(142)),
            StringComparison.Ordinal);
        Assert.StartsWith("type ", Message((await alice.PostAsync("classes/Activity", new JsonObject { ["type"] = "fax", ["subject"] = "x" })).EnsureError(142)),
            StringComparison.Ordinal);
        // The schema types them as Date: anything else is a type error before any rule runs.
        (await alice.PostAsync("classes/Deal", new JsonObject { ["title"] = "X", ["expectedCloseDate"] = "next week" })).EnsureError(111);
        (await alice.PostAsync("classes/Activity", new JsonObject { ["type"] = "call", ["subject"] = "x", ["dueDate"] = 5 })).EnsureError(111);
    }

    private async Task<(ParseClient Alice, string Token, string Company, string Contact, string Deal)> CompanyInUseAsync()
    {
        var (alice, _, token) = await _server.UserAsync("alice");
        var company = await Tools.CreateAsync(alice, "Company", new JsonObject { ["name"] = "Acme" });
        var contact = await Tools.CreateAsync(alice, "Contact", new JsonObject { ["name"] = "Ada", ["company"] = Wire.PointerTo("Company", company) });
        var deal = await Tools.CreateAsync(alice, "Deal", new JsonObject { ["title"] = "Acme – 50 seat renewal", ["company"] = Wire.PointerTo("Company", company) });
        return (alice, token, company, contact, deal);
    }

    [Fact]
    public async Task a_company_with_contacts_or_deals_cannot_be_deleted()
    {
        var (alice, _, company, contact, deal) = await CompanyInUseAsync();
        await Tools.CreateAsync(alice, "Contact", new JsonObject { ["name"] = "Bea", ["company"] = Wire.PointerTo("Company", company) });

        var refused = (await alice.DeleteAsync($"classes/Company/{company}")).EnsureError(142);
        Assert.Contains("2 contacts and 1 deal refer to it", Message(refused), StringComparison.Ordinal);
        (await alice.GetAsync($"classes/Company/{company}")).EnsureStatus(HttpStatusCode.OK);

        // Records the caller cannot see count too (no one may orphan them).
        var (bob, _, _) = await _server.UserAsync("bob");
        (await alice.PutAsync($"classes/Company/{company}", new JsonObject { ["ACL"] = new JsonObject { ["*"] = new JsonObject { ["read"] = true } } })).EnsureStatus(HttpStatusCode.OK);
        var hidden = await Tools.CreateAsync(bob, "Deal", new JsonObject { ["title"] = "Bob's", ["company"] = Wire.PointerTo("Company", company) });

        // Moving and deleting what points to it lets it go.
        foreach (var id in (await alice.IdsAsync("Contact", new JsonObject { ["company"] = Wire.PointerTo("Company", company) })))
            (await alice.DeleteAsync($"classes/Contact/{id}")).EnsureStatus(HttpStatusCode.OK);
        (await alice.PutAsync($"classes/Deal/{deal}", new JsonObject { ["company"] = null })).EnsureStatus(HttpStatusCode.OK);
        var last = (await alice.DeleteAsync($"classes/Company/{company}")).EnsureError(142);
        Assert.Contains("1 deal refers to it", Message(last), StringComparison.Ordinal);
        (await bob.DeleteAsync($"classes/Deal/{hidden}")).EnsureStatus(HttpStatusCode.OK);
        (await alice.DeleteAsync($"classes/Company/{company}")).EnsureStatus(HttpStatusCode.OK);
        Assert.NotNull(contact);
    }

    [Fact]
    public async Task the_company_delete_rule_holds_through_batch_graphql_and_mcp()
    {
        var (alice, token, company, _, _) = await CompanyInUseAsync();

        var batch = (await alice.BatchAsync([("DELETE", $"/classes/Company/{company}", null)])).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal(142, batch.Json![0]!["error"]!["code"]!.GetValue<int>());

        using var graphql = new GraphQLClient(_server).WithSession(token);
        (await graphql.SendAsync("""mutation($id: ID!) { deleteCompany(input: {id: $id}) { company { id } } }""", new JsonObject { ["id"] = company })).ParseError(142);

        await using var mcp = await McpTests.ConnectAsync(_server, token);
        Assert.Equal(142, await McpTests.RefusedAsync(mcp, "delete", new JsonObject { ["className"] = "Company", ["objectId"] = company }));

        (await alice.GetAsync($"classes/Company/{company}")).EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task the_value_rules_hold_through_graphql_and_batch()
    {
        var (alice, _, token) = await _server.UserAsync("alice");
        using var graphql = new GraphQLClient(_server).WithSession(token);
        (await graphql.SendAsync("""mutation { createContact(input: {fields: {name: "Ada", email: "not-an-email"}}) { contact { id } } }""")).ParseError(142);
        (await graphql.SendAsync("""mutation { createDeal(input: {fields: {title: "X", amount: -500}}) { deal { id } } }""")).ParseError(142);
        (await graphql.SendAsync("""mutation { createActivity(input: {fields: {type: "call", subject: " "}}) { activity { id } } }""")).ParseError(142);

        var batch = (await alice.BatchAsync([
            ("POST", "/classes/Deal", new JsonObject { ["title"] = "ok", ["amount"] = 10 }),
            ("POST", "/classes/Deal", new JsonObject { ["title"] = "bad", ["amount"] = -10 }),
        ])).EnsureStatus(HttpStatusCode.OK);
        Assert.NotNull(batch.Json![0]!["success"]);
        Assert.Equal(142, batch.Json[1]!["error"]!["code"]!.GetValue<int>());
    }
}
