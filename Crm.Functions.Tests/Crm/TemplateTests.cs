using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Store;
using Crm.Functions.Storage.Sqlite;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Crm.Functions.Tests.CrmTemplate;

public sealed class TemplateTests
{
    private static readonly string[] CrmClasses = ["Company", "Contact", "Deal", "Activity"];

    [Fact]
    public async Task template_creates_the_crm_classes_with_fields_required_flags_descriptions_and_authenticated_only_permissions()
    {
        using var server = Tools.TemplateServer();
        using var master = server.Client().AsMaster();
        foreach (var className in CrmClasses)
        {
            var schema = (await master.GetAsync($"schemas/{className}")).EnsureStatus(HttpStatusCode.OK).Json!;
            var clp = schema["classLevelPermissions"]!;
            foreach (var op in new[] { "find", "count", "get", "create", "update", "delete" })
                Assert.True(clp[op]!["requiresAuthentication"]!.GetValue<bool>(), $"{className}.{op}");
            Assert.Empty(clp["addField"]!.AsObject());
        }
        var deal = (await master.GetAsync("schemas/Deal")).Json!["fields"]!;
        Assert.Equal("String", deal["title"]!["type"]!.GetValue<string>());
        Assert.True(deal["title"]!["required"]!.GetValue<bool>());
        Assert.Equal("_User", deal["assignedTo"]!["targetClass"]!.GetValue<string>());
        var activity = (await master.GetAsync("schemas/Activity")).Json!["fields"]!;
        Assert.Equal("Contact|Deal", activity["relatedTo"]!["targetClass"]!.GetValue<string>());

        var document = JsonNode.Parse(await server.Client().Http.GetStringAsync(server.BaseUrl + "/docs/schema.json"))!;
        var company = document["classes"]!.AsArray().Single(c => c!["className"]!.GetValue<string>() == "Company")!;
        Assert.Equal("An organisation the team sells to.", company["description"]!.GetValue<string>());
        Assert.Equal("Company name", company["fields"]!["name"]!["description"]!.GetValue<string>());
    }

    [Fact]
    public async Task template_applies_idempotently_and_keeps_fields_added_later()
    {
        var folder = Tools.NewFolder();
        try
        {
            string before;
            string beforeDocs;
            using (var first = Tools.TemplateServer(folder))
            {
                using var master = first.Client().AsMaster();
                (await master.PutAsync("schemas/Deal", new JsonObject { ["fields"] = new JsonObject { ["region"] = new JsonObject { ["type"] = "String" } } }))
                    .EnsureStatus(HttpStatusCode.OK);
                before = (await master.GetAsync("schemas")).Raw;
                beforeDocs = await master.Http.GetStringAsync(first.BaseUrl + "/docs/schema.json");
            }
            using var second = Tools.TemplateServer(folder);
            using var again = second.Client().AsMaster();
            Assert.Equal(before, (await again.GetAsync("schemas")).Raw);
            Assert.Equal(beforeDocs, await again.Http.GetStringAsync(second.BaseUrl + "/docs/schema.json"));
            Assert.Contains("\"region\"", before, StringComparison.Ordinal);

            var run = await Tools.CliAsync(folder, "template", "apply");
            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.Contains("template in place", run.StdOut, StringComparison.Ordinal);
        }
        finally
        {
            Tools.DeleteFolder(folder);
        }
    }

    [Fact]
    public async Task template_secures_an_existing_public_class_and_keeps_its_extra_fields()
    {
        var folder = Tools.NewFolder();
        try
        {
            using (var plain = new CrmServer(new Dictionary<string, string?> { ["Parse:DataFolder"] = folder }))
            {
                using var master = plain.Client().AsMaster();
                (await master.PostAsync("schemas/Company", new JsonObject
                {
                    ["fields"] = new JsonObject { ["name"] = new JsonObject { ["type"] = "String" }, ["vatNumber"] = new JsonObject { ["type"] = "String" } },
                })).EnsureStatus(HttpStatusCode.OK);
            }
            using var server = Tools.TemplateServer(folder);
            using var client = server.Client().AsMaster();
            var schema = (await client.GetAsync("schemas/Company")).Json!;
            Assert.NotNull(schema["fields"]!["vatNumber"]);
            Assert.NotNull(schema["fields"]!["website"]);
            Assert.True(schema["classLevelPermissions"]!["find"]!["requiresAuthentication"]!.GetValue<bool>());
        }
        finally
        {
            Tools.DeleteFolder(folder);
        }
    }

    [Fact]
    public async Task pipeline_indexes_are_declared_in_the_schema_and_serve_the_pipeline_queries()
    {
        using var server = Tools.TemplateServer();
        using var master = server.Client().AsMaster();
        var dealIndexes = (await master.GetAsync("schemas/Deal")).Json!["indexes"]!;
        Assert.True(JsonNode.DeepEquals(new JsonObject { ["stage"] = 1, ["expectedCloseDate"] = 1 }, dealIndexes["stage_expectedCloseDate"]));
        Assert.True(JsonNode.DeepEquals(new JsonObject { ["stage"] = 1, ["updatedAt"] = 1 }, dealIndexes["stage_updatedAt"]));
        var activityIndexes = (await master.GetAsync("schemas/Activity")).Json!["indexes"]!;
        Assert.True(JsonNode.DeepEquals(new JsonObject { ["relatedTo"] = 1, ["dueDate"] = 1 }, activityIndexes["relatedTo_dueDate"]));

        // The template only declares indexes; each store builds its own. SQLite's query plans show them in use.
        if (server.Services.GetRequiredService<IObjectStore>() is not SqliteObjectStore store) return;
        var schemas = server.Services.GetRequiredService<SchemaService>();
        var deal = schemas.Get("Deal")!;
        var activity = schemas.Get("Activity")!;

        async Task<string> Plan(ClassSchema schema, string field, QueryValue value, string order) =>
            await store.ExplainAsync(new StoreQuery(schema.ClassName,
                new CompareNode(WhereParser.ResolveField(field, schema), CompareOp.Eq, value),
                [new SortKey(WhereParser.ResolveField(order, schema), false)], 0, 50), CancellationToken.None);

        Assert.Contains("ix_Deal__stage_expectedCloseDate", await Plan(deal, "stage", new StringValue("lead"), "expectedCloseDate"), StringComparison.Ordinal);
        Assert.Contains("ix_Deal__stage_updatedAt", await Plan(deal, "stage", new StringValue("won"), "updatedAt"), StringComparison.Ordinal);
        Assert.Contains("ix_Activity__relatedTo_dueDate", await Plan(activity, "relatedTo", new PointerValue("Deal", "abc"), "dueDate"), StringComparison.Ordinal);
    }
}
