using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.CrmTemplate;

/// <summary>One server with the template for the class; every test makes its own users, so none sees another's data.</summary>
public sealed class TemplateServerFixture : IDisposable
{
    public CrmServer Server { get; } = Tools.TemplateServer();
    public void Dispose() => Server.Dispose();
}

public sealed class RulesTests(TemplateServerFixture fixture) : IClassFixture<TemplateServerFixture>
{
    private readonly CrmServer _server = fixture.Server;

    private async Task<(ParseClient Client, string Id)> User(string prefix = "user")
    {
        var (client, id, _) = await _server.UserAsync(prefix);
        return (client, id);
    }

    // ---- class-level permissions -------------------------------------------------------------------------

    [Fact]
    public async Task anonymous_callers_can_neither_read_nor_create_crm_records()
    {
        using var anonymous = _server.Client();
        foreach (var className in new[] { "Company", "Contact", "Deal", "Activity" })
        {
            (await anonymous.QueryAsync(className)).EnsureError(101);
            (await anonymous.PostAsync($"classes/{className}", new JsonObject { ["name"] = "x" })).EnsureError(101);
        }
    }

    [Fact]
    public async Task signed_in_users_cannot_add_fields_to_crm_classes()
    {
        var (alice, _) = await User();
        (await alice.PostAsync("classes/Company", new JsonObject { ["name"] = "Acme", ["shoeSize"] = 44 })).EnsureError(119);
    }

    // ---- createdBy and owner ACL -------------------------------------------------------------------------

    [Fact]
    public async Task created_by_is_the_caller_even_when_the_client_sends_another_user()
    {
        var (alice, aliceId) = await User("alice");
        var (_, bobId) = await User("bob");
        var id = await Tools.CreateAsync(alice, "Company", new JsonObject { ["name"] = "Acme", ["createdBy"] = Wire.PointerTo("_User", bobId) });
        var company = (await alice.GetAsync($"classes/Company/{id}")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Equal(aliceId, company["createdBy"]!["objectId"]!.GetValue<string>());
    }

    [Fact]
    public async Task created_by_cannot_be_changed_on_update()
    {
        var (alice, aliceId) = await User("alice");
        var (_, bobId) = await User("bob");
        var id = await Tools.CreateAsync(alice, "Contact", new JsonObject { ["name"] = "Ada" });
        (await alice.PutAsync($"classes/Contact/{id}", new JsonObject { ["createdBy"] = Wire.PointerTo("_User", bobId) })).EnsureError(136);
        (await alice.PutAsync($"classes/Contact/{id}", new JsonObject { ["createdBy"] = Wire.PointerTo("_User", aliceId), ["phone"] = "1" }))
            .EnsureStatus(HttpStatusCode.OK);
        var contact = (await alice.GetAsync($"classes/Contact/{id}")).Json!;
        Assert.Equal(aliceId, contact["createdBy"]!["objectId"]!.GetValue<string>());
    }

    [Fact]
    public async Task a_new_company_is_readable_and_writable_by_its_creator_only()
    {
        var (alice, aliceId) = await User("alice");
        var (bob, _) = await User("bob");
        var id = await Tools.CreateAsync(alice, "Company", new JsonObject { ["name"] = "Acme" });

        var company = (await alice.GetAsync($"classes/Company/{id}")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.True(company["ACL"]![aliceId]!["write"]!.GetValue<bool>());
        Assert.Null(company["ACL"]!["*"]);
        (await bob.GetAsync($"classes/Company/{id}")).EnsureError(101);
        Assert.Empty((await bob.QueryAsync("Company", new JsonObject { ["objectId"] = id })).Results);
        (await bob.PutAsync($"classes/Company/{id}", new JsonObject { ["name"] = "Hijacked" })).EnsureError(101);
        (await bob.DeleteAsync($"classes/Company/{id}")).EnsureError(101);
    }

    [Fact]
    public async Task a_client_may_share_a_record_but_cannot_drop_its_owner_from_the_acl()
    {
        var (alice, aliceId) = await User("alice");
        var (bob, bobId) = await User("bob");
        var id = await Tools.CreateAsync(alice, "Contact", new JsonObject
        {
            ["name"] = "Ada", ["ACL"] = new JsonObject { [bobId] = new JsonObject { ["read"] = true } },
        });
        (await bob.GetAsync($"classes/Contact/{id}")).EnsureStatus(HttpStatusCode.OK);
        (await alice.PutAsync($"classes/Contact/{id}", new JsonObject { ["ACL"] = new JsonObject() })).EnsureStatus(HttpStatusCode.OK);
        var contact = (await alice.GetAsync($"classes/Contact/{id}")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.True(contact["ACL"]![aliceId]!["write"]!.GetValue<bool>());
    }

    // ---- deals -------------------------------------------------------------------------------------------

    [Fact]
    public async Task a_deal_defaults_to_lead_and_to_its_creator_as_assignee()
    {
        var (alice, aliceId) = await User("alice");
        var id = await Tools.CreateAsync(alice, "Deal", new JsonObject { ["title"] = "Pilot", ["amount"] = 100 });
        var deal = (await alice.GetAsync($"classes/Deal/{id}")).Json!;
        Assert.Equal("lead", deal["stage"]!.GetValue<string>());
        Assert.Equal(aliceId, deal["assignedTo"]!["objectId"]!.GetValue<string>());
        Assert.Equal(aliceId, deal["createdBy"]!["objectId"]!.GetValue<string>());
    }

    [Fact]
    public async Task a_deal_is_readable_and_writable_by_its_assignee_and_its_creator_only()
    {
        var (alice, _) = await User("alice");
        var (bob, bobId) = await User("bob");
        var (carol, _) = await User("carol");
        var id = await Tools.CreateAsync(alice, "Deal", new JsonObject { ["title"] = "Renewal", ["assignedTo"] = Wire.PointerTo("_User", bobId) });

        (await bob.GetAsync($"classes/Deal/{id}")).EnsureStatus(HttpStatusCode.OK);
        (await bob.PutAsync($"classes/Deal/{id}", new JsonObject { ["stage"] = "qualified" })).EnsureStatus(HttpStatusCode.OK);
        (await alice.PutAsync($"classes/Deal/{id}", new JsonObject { ["amount"] = 5 })).EnsureStatus(HttpStatusCode.OK);
        (await carol.GetAsync($"classes/Deal/{id}")).EnsureError(101);
        (await carol.PutAsync($"classes/Deal/{id}", new JsonObject { ["amount"] = 1 })).EnsureError(101);
    }

    [Fact]
    public async Task reassigning_a_deal_moves_access_from_the_old_assignee_to_the_new_one()
    {
        var (alice, aliceId) = await User("alice");
        var (bob, bobId) = await User("bob");
        var (carol, carolId) = await User("carol");
        var id = await Tools.CreateAsync(alice, "Deal", new JsonObject { ["title"] = "Expansion", ["assignedTo"] = Wire.PointerTo("_User", bobId) });

        (await bob.PutAsync($"classes/Deal/{id}", new JsonObject { ["assignedTo"] = Wire.PointerTo("_User", carolId) })).EnsureStatus(HttpStatusCode.OK);

        (await bob.GetAsync($"classes/Deal/{id}")).EnsureError(101);
        var deal = (await carol.GetAsync($"classes/Deal/{id}")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Null(deal["ACL"]![bobId]);
        Assert.True(deal["ACL"]![carolId]!["write"]!.GetValue<bool>());
        (await alice.GetAsync($"classes/Deal/{id}")).EnsureStatus(HttpStatusCode.OK);
        Assert.True(deal["ACL"]![aliceId]!["write"]!.GetValue<bool>());
    }

    [Fact]
    public async Task a_stage_outside_the_pipeline_is_refused_on_create_and_update()
    {
        var (alice, _) = await User();
        (await alice.PostAsync("classes/Deal", new JsonObject { ["title"] = "X", ["stage"] = "maybe" })).EnsureError(142);
        var id = await Tools.CreateAsync(alice, "Deal", new JsonObject { ["title"] = "X", ["stage"] = "proposal" });
        (await alice.PutAsync($"classes/Deal/{id}", new JsonObject { ["stage"] = "Won" })).EnsureError(142);
        (await alice.PutAsync($"classes/Deal/{id}", new JsonObject { ["stage"] = new JsonObject { ["__op"] = "Delete" } })).EnsureError(142);
        (await alice.PutAsync($"classes/Deal/{id}", new JsonObject { ["stage"] = "won" })).EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task the_rules_hold_through_the_batch_door_too()
    {
        var (alice, aliceId) = await User("alice");
        var (_, bobId) = await User("bob");
        var batch = await alice.PostAsync("batch", new JsonObject
        {
            ["requests"] = new JsonArray(
                new JsonObject
                {
                    ["method"] = "POST", ["path"] = "/parse/classes/Deal",
                    ["body"] = new JsonObject { ["title"] = "Batched", ["createdBy"] = Wire.PointerTo("_User", bobId) },
                },
                new JsonObject
                {
                    ["method"] = "POST", ["path"] = "/parse/classes/Deal",
                    ["body"] = new JsonObject { ["title"] = "Bad stage", ["stage"] = "someday" },
                }),
        });
        var results = batch.EnsureStatus(HttpStatusCode.OK).Json!.AsArray();
        var id = results[0]!["success"]!["objectId"]!.GetValue<string>();
        Assert.Equal(142, results[1]!["error"]!["code"]!.GetValue<int>());
        var deal = (await alice.GetAsync($"classes/Deal/{id}")).Json!;
        Assert.Equal(aliceId, deal["createdBy"]!["objectId"]!.GetValue<string>());
        Assert.Equal("lead", deal["stage"]!.GetValue<string>());
    }

    // ---- activities --------------------------------------------------------------------------------------

    [Fact]
    public async Task an_activity_type_outside_the_list_is_refused()
    {
        var (alice, _) = await User();
        (await alice.PostAsync("classes/Activity", new JsonObject { ["type"] = "fax", ["subject"] = "x" })).EnsureError(142);
        (await alice.PostAsync("classes/Activity", new JsonObject { ["subject"] = "no type" })).EnsureError(142);
        var id = await Tools.CreateAsync(alice, "Activity", new JsonObject { ["type"] = "call", ["subject"] = "x" });
        (await alice.PutAsync($"classes/Activity/{id}", new JsonObject { ["type"] = "telegram" })).EnsureError(142);
    }

    [Fact]
    public async Task an_activity_may_point_to_a_contact_or_deal_the_caller_can_read()
    {
        var (alice, aliceId) = await User("alice");
        var contact = await Tools.CreateAsync(alice, "Contact", new JsonObject { ["name"] = "Ada" });
        var deal = await Tools.CreateAsync(alice, "Deal", new JsonObject { ["title"] = "Pilot" });
        await Tools.CreateAsync(alice, "Activity", new JsonObject { ["type"] = "call", ["subject"] = "Follow-up", ["relatedTo"] = Wire.PointerTo("Contact", contact) });
        var id = await Tools.CreateAsync(alice, "Activity", new JsonObject { ["type"] = "email", ["subject"] = "Follow-up", ["relatedTo"] = Wire.PointerTo("Deal", deal) });
        var activity = (await alice.GetAsync($"classes/Activity/{id}")).Json!;
        Assert.Equal(aliceId, activity["createdBy"]!["objectId"]!.GetValue<string>());

        var listed = await alice.QueryAsync("Activity", new JsonObject { ["relatedTo"] = Wire.PointerTo("Deal", deal) });
        Assert.Single(listed.Results);
    }

    [Fact]
    public async Task an_activity_about_a_record_the_caller_cannot_read_or_that_does_not_exist_is_refused()
    {
        var (alice, _) = await User("alice");
        var (bob, _) = await User("bob");
        var hidden = await Tools.CreateAsync(alice, "Deal", new JsonObject { ["title"] = "Secret" });
        var company = await Tools.CreateAsync(bob, "Company", new JsonObject { ["name"] = "Acme" });

        (await bob.PostAsync("classes/Activity", new JsonObject { ["type"] = "note", ["subject"] = "Follow-up", ["relatedTo"] = Wire.PointerTo("Deal", hidden) })).EnsureError(142);
        (await bob.PostAsync("classes/Activity", new JsonObject { ["type"] = "note", ["subject"] = "Follow-up", ["relatedTo"] = Wire.PointerTo("Contact", "doesNotExist") })).EnsureError(142);
        // A pointer to another class is already a type error for the schema (Pointer<Contact|Deal>).
        (await bob.PostAsync("classes/Activity", new JsonObject { ["type"] = "note", ["subject"] = "Follow-up", ["relatedTo"] = Wire.PointerTo("Company", company) })).EnsureError(111);

        var own = await Tools.CreateAsync(bob, "Activity", new JsonObject { ["type"] = "note", ["subject"] = "Follow-up" });
        (await bob.PutAsync($"classes/Activity/{own}", new JsonObject { ["relatedTo"] = Wire.PointerTo("Deal", hidden) })).EnsureError(142);
    }

    // ---- delete rule -------------------------------------------------------------------------------------

    [Fact]
    public async Task deleting_a_contact_or_deal_with_activities_is_refused_until_they_are_gone()
    {
        var (alice, _) = await User();
        var contact = await Tools.CreateAsync(alice, "Contact", new JsonObject { ["name"] = "Ada" });
        var deal = await Tools.CreateAsync(alice, "Deal", new JsonObject { ["title"] = "Pilot" });
        var onContact = await Tools.CreateAsync(alice, "Activity", new JsonObject { ["type"] = "call", ["subject"] = "Follow-up", ["relatedTo"] = Wire.PointerTo("Contact", contact) });
        var onDeal = await Tools.CreateAsync(alice, "Activity", new JsonObject { ["type"] = "call", ["subject"] = "Follow-up", ["relatedTo"] = Wire.PointerTo("Deal", deal) });

        var refused = (await alice.DeleteAsync($"classes/Contact/{contact}")).EnsureError(142);
        Assert.Contains("1 activity refers to it", refused.Json!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        (await alice.DeleteAsync($"classes/Deal/{deal}")).EnsureError(142);
        (await alice.GetAsync($"classes/Contact/{contact}")).EnsureStatus(HttpStatusCode.OK);

        (await alice.DeleteAsync($"classes/Activity/{onContact}")).EnsureStatus(HttpStatusCode.OK);
        (await alice.DeleteAsync($"classes/Activity/{onDeal}")).EnsureStatus(HttpStatusCode.OK);
        (await alice.DeleteAsync($"classes/Contact/{contact}")).EnsureStatus(HttpStatusCode.OK);
        (await alice.DeleteAsync($"classes/Deal/{deal}")).EnsureStatus(HttpStatusCode.OK);
    }

    // ---- role widening -----------------------------------------------------------------------------------

    [Fact]
    public async Task members_of_the_managers_role_read_everyones_records_but_cannot_change_them()
    {
        var (alice, _) = await User("alice");
        var (manager, managerId) = await User("manager");
        await Tools.AddToRoleAsync(_server, "Managers", managerId);
        var deal = await Tools.CreateAsync(alice, "Deal", new JsonObject { ["title"] = "Big one", ["amount"] = 10 });
        var company = await Tools.CreateAsync(alice, "Company", new JsonObject { ["name"] = "Acme" });

        (await manager.GetAsync($"classes/Deal/{deal}")).EnsureStatus(HttpStatusCode.OK);
        (await manager.GetAsync($"classes/Company/{company}")).EnsureStatus(HttpStatusCode.OK);
        (await manager.PutAsync($"classes/Deal/{deal}", new JsonObject { ["amount"] = 0 })).EnsureError(101);
    }

    // ---- pipeline summary --------------------------------------------------------------------------------

    [Fact]
    public async Task pipeline_summary_counts_and_sums_only_the_deals_the_caller_can_see()
    {
        var (alice, _) = await User("alice");
        var (bob, bobId) = await User("bob");
        await Tools.CreateAsync(alice, "Deal", new JsonObject { ["title"] = "A1", ["amount"] = 100, ["stage"] = "lead" });
        await Tools.CreateAsync(alice, "Deal", new JsonObject { ["title"] = "A2", ["amount"] = 250.5, ["stage"] = "lead" });
        await Tools.CreateAsync(alice, "Deal", new JsonObject { ["title"] = "A3", ["amount"] = 1000, ["stage"] = "won" });
        await Tools.CreateAsync(alice, "Deal", new JsonObject { ["title"] = "For bob", ["amount"] = 40, ["stage"] = "won", ["assignedTo"] = Wire.PointerTo("_User", bobId) });
        await Tools.CreateAsync(bob, "Deal", new JsonObject { ["title"] = "B1", ["amount"] = 7, ["stage"] = "proposal" });
        await Tools.CreateAsync(bob, "Deal", new JsonObject { ["title"] = "B2", ["stage"] = "proposal" });

        static Dictionary<string, (long Count, double Amount)> Stages(ParseResponse r) =>
            r.EnsureStatus(HttpStatusCode.OK).Json!["result"]!["stages"]!.AsArray().ToDictionary(
                s => s!["stage"]!.GetValue<string>(), s => (s!["count"]!.GetValue<long>(), s["amount"]!.GetValue<double>()));

        var forAlice = Stages(await alice.PostAsync("functions/pipelineSummary", new JsonObject()));
        Assert.Equal((2L, 350.5), forAlice["lead"]);
        Assert.Equal((2L, 1040.0), forAlice["won"]);
        Assert.Equal((0L, 0.0), forAlice["proposal"]);
        Assert.Equal(6, forAlice.Count);

        var forBob = Stages(await bob.PostAsync("functions/pipelineSummary", new JsonObject()));
        Assert.Equal((0L, 0.0), forBob["lead"]);
        Assert.Equal((1L, 40.0), forBob["won"]);
        Assert.Equal((2L, 7.0), forBob["proposal"]);

        using var anonymous = _server.Client();
        (await anonymous.PostAsync("functions/pipelineSummary", new JsonObject())).EnsureError(101);
    }

    [Fact]
    public async Task pipeline_summary_pages_through_more_deals_than_one_query_returns()
    {
        // A page limit of 10 makes 35 deals span four pages per stage.
        using var server = Tools.TemplateServer(extra: new Dictionary<string, string?> { ["Parse:Limits:MaxLimit"] = "10" });
        var (alice, _, _) = await server.UserAsync("alice");
        var requests = new JsonArray();
        for (var i = 1; i <= 35; i++)
            requests.Add(new JsonObject
            {
                ["method"] = "POST", ["path"] = "/parse/classes/Deal",
                ["body"] = new JsonObject { ["title"] = $"Deal {i}", ["amount"] = i, ["stage"] = i % 2 == 0 ? "won" : "lead" },
            });
        (await alice.PostAsync("batch", new JsonObject { ["requests"] = requests })).EnsureStatus(HttpStatusCode.OK);

        var result = (await alice.PostAsync("functions/pipelineSummary", new JsonObject())).EnsureStatus(HttpStatusCode.OK).Json!["result"]!;
        var won = result["stages"]!.AsArray().Single(s => s!["stage"]!.GetValue<string>() == "won")!;
        Assert.Equal(17, won["count"]!.GetValue<long>());
        Assert.Equal(Enumerable.Range(1, 35).Where(i => i % 2 == 0).Sum(), won["amount"]!.GetValue<double>());
        Assert.Equal(35, result["total"]!["count"]!.GetValue<long>());
        Assert.Equal(630, result["total"]!["amount"]!.GetValue<double>());
    }
}
