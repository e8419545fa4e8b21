using System.Net;
using System.Text.Json.Nodes;
using global::Crm.Functions.Core.Query;
using global::Crm.Functions.Core.Schema;
using global::Crm.Functions.Core.Store;
using global::Crm.Functions.Storage.Cosmos;
using global::Crm.Functions.Storage.Sqlite;
using Crm.Functions.Tests.Infrastructure;
using Crm.Functions.Tests.Storage;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.DependencyInjection;

namespace Crm.Functions.Tests;

public sealed class SchemasTests(CrmServerFixture fixture) : IClassFixture<CrmServerFixture>
{
    private CrmServer Server => fixture.Server;

    private static JsonObject Field(string type, string? target = null)
    {
        var field = new JsonObject { ["type"] = type };
        if (target is not null) field["targetClass"] = target;
        return field;
    }

    private static JsonObject Delete() => new() { ["__op"] = "Delete" };

    private static void AssertMasterRequired(ParseResponse response)
    {
        response.EnsureStatus(HttpStatusCode.Forbidden);
        Assert.Equal("unauthorized: master key is required", response.Json!["error"]!.GetValue<string>());
        Assert.Equal(119, response.Json["code"]!.GetValue<int>());
    }

    [Fact]
    public async Task schemas_require_the_master_key_for_every_route()
    {
        using var master = Server.Client().AsMaster();
        var cls = Wire.Unique("Sch");
        await master.CreateAsync(cls, new { title = "A" });
        using var user = Server.Client();
        await user.SignUpAsync(Wire.Unique("sch"));
        using var anonymous = Server.Client();
        foreach (var client in new[] { user, anonymous })
        {
            AssertMasterRequired(await client.GetAsync("schemas"));
            AssertMasterRequired(await client.GetAsync($"schemas/{cls}"));
            AssertMasterRequired(await client.PostAsync($"schemas/{Wire.Unique("Sch")}", new JsonObject()));
            AssertMasterRequired(await client.PutAsync($"schemas/{cls}", new JsonObject { ["fields"] = new JsonObject { ["x"] = Field("String") } }));
            AssertMasterRequired(await client.DeleteAsync($"schemas/{cls}"));
        }
        Assert.Null((await master.GetAsync($"schemas/{cls}")).Json!["fields"]!["x"]);
    }

    [Fact]
    public async Task get_all_lists_system_and_created_classes_and_get_one_returns_the_schema()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Sch");
        await client.CreateAsync(cls, new { title = "A", amount = 1 });

        var all = (await client.GetAsync("schemas")).EnsureStatus(HttpStatusCode.OK).Json!["results"]!.AsArray();
        var names = all.Select(s => s!["className"]!.GetValue<string>()).ToList();
        Assert.Contains("_User", names);
        Assert.Contains("_Role", names);
        Assert.Contains(cls, names);

        var one = (await client.GetAsync($"schemas/{cls}")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Equal(cls, one["className"]!.GetValue<string>());
        var fields = one["fields"]!.AsObject();
        Assert.Equal("String", fields["objectId"]!["type"]!.GetValue<string>());
        Assert.Equal("Date", fields["createdAt"]!["type"]!.GetValue<string>());
        Assert.Equal("Date", fields["updatedAt"]!["type"]!.GetValue<string>());
        Assert.Equal("ACL", fields["ACL"]!["type"]!.GetValue<string>());
        Assert.Equal("String", fields["title"]!["type"]!.GetValue<string>());
        Assert.Equal("Number", fields["amount"]!["type"]!.GetValue<string>());
        var clp = one["classLevelPermissions"]!;
        foreach (var op in new[] { "find", "count", "get", "create", "update", "delete", "addField" })
            Assert.True(JsonNode.DeepEquals(new JsonObject { ["*"] = true }, clp[op]), $"{op}: {clp[op]?.ToJsonString()}");

        var missing = (await client.GetAsync($"schemas/{Wire.Unique("Nope")}")).EnsureError(103);
        Assert.EndsWith("does not exist.", missing.Json!["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task post_creates_a_class_with_fields_clp_and_indexes()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Sch");
        var body = new JsonObject
        {
            ["className"] = cls,
            ["fields"] = new JsonObject
            {
                ["title"] = new JsonObject { ["type"] = "String", ["required"] = true },
                ["amount"] = new JsonObject { ["type"] = "Number", ["defaultValue"] = 0 },
                ["company"] = Field("Pointer", "Company"),
                ["watchers"] = Field("Relation", "_User"),
            },
            ["classLevelPermissions"] = new JsonObject { ["find"] = new JsonObject { ["requiresAuthentication"] = true } },
            ["indexes"] = new JsonObject { ["title_1"] = new JsonObject { ["title"] = 1 } },
        };
        var response = await client.PostAsync("schemas", body);
        var schema = response.EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Equal(cls, schema["className"]!.GetValue<string>());
        Assert.True(schema["fields"]!["title"]!["required"]!.GetValue<bool>());
        Assert.Equal(0, schema["fields"]!["amount"]!["defaultValue"]!.GetValue<int>());
        Assert.Equal("Company", schema["fields"]!["company"]!["targetClass"]!.GetValue<string>());
        Assert.Equal("Relation", schema["fields"]!["watchers"]!["type"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(new JsonObject { ["title"] = 1 }, schema["indexes"]!["title_1"]));
        Assert.NotNull(schema["indexes"]!["_id_"]);
        Assert.True(JsonNode.DeepEquals(schema, (await client.GetAsync($"schemas/{cls}")).Json), "GET returns what POST answered");

        (await client.PostAsync("schemas", new JsonObject { ["className"] = cls })).EnsureError(103);
    }

    [Fact]
    public async Task post_validates_names_and_types()
    {
        using var client = Server.Client().AsMaster();
        (await client.PostAsync($"schemas/{Wire.Unique("A")}", new JsonObject { ["className"] = Wire.Unique("B") })).EnsureError(103);
        (await client.PostAsync("schemas", new JsonObject())).EnsureError(135);
        (await client.PostAsync("schemas/Bad-Name", new JsonObject())).EnsureError(103);
        (await client.PostAsync($"schemas/{Wire.Unique("S")}", new JsonObject { ["fields"] = new JsonObject { ["x"] = Field("Banana") } })).EnsureError(111);
        (await client.PostAsync($"schemas/{Wire.Unique("S")}", new JsonObject { ["fields"] = new JsonObject { ["x"] = Field("Pointer") } })).EnsureError(135);
        (await client.PostAsync($"schemas/{Wire.Unique("S")}", new JsonObject { ["fields"] = new JsonObject { ["1x"] = Field("String") } })).EnsureError(105);
        (await client.PostAsync($"schemas/{Wire.Unique("S")}", new JsonObject { ["fields"] = new JsonObject { ["createdAt"] = Field("String") } })).EnsureError(136);
        (await client.PostAsync($"schemas/{Wire.Unique("S")}", new JsonObject { ["fields"] = new JsonObject { ["n"] = new JsonObject { ["type"] = "Number", ["defaultValue"] = "zero" } } })).EnsureError(111);
        (await client.PostAsync($"schemas/{Wire.Unique("S")}", new JsonObject { ["classLevelPermissions"] = new JsonObject { ["destroy"] = new JsonObject() } })).EnsureError(107);
        (await client.PostAsync($"schemas/{Wire.Unique("S")}", new JsonObject { ["classLevelPermissions"] = new JsonObject { ["find"] = new JsonObject { ["*"] = false } } })).EnsureError(107);
    }

    public static TheoryData<string> HostileSchemaBodies() =>
    [
        """{"fields":{"x":"String"}}""", """{"fields":{"x":{"type":5}}}""", """{"fields":{"x":{"type":"Relation","targetClass":"Bad Name"}}}""",
        """{"fields":{"x":{"type":"Relation","targetClass":"X","defaultValue":1}}}""", """{"fields":{"x":{"type":"Date","defaultValue":"2024"}}}""",
        """{"fields":[]}""", """{"fields":{"x":{"type":"GeoPoint"},"y":{"type":"GeoPoint"}}}""",
        """{"indexes":{"i":{"title":"fulltext"}}}""", """{"indexes":{"i":{"title":"text","createdAt":"text"}}}""", """{"indexes":{"i":5}}""", """{"indexes":{"i":{}}}""", """{"indexes":{"bad name":{"title":1}}}""",
        """{"indexes":{"i":{"ACL":1}}}""", """{"indexes":[]}""",
        """{"classLevelPermissions":{"protectedFields":{"*":["notExisting"]}}}""", """{"classLevelPermissions":{"protectedFields":{"*":"title"}}}""",
        """{"classLevelPermissions":{"readUserFields":["title"]}}""", """{"classLevelPermissions":{"find":{"pointerFields":"title"}}}""",
        """{"classLevelPermissions":{"find":{"bad entity!":true}}}""", """{"classLevelPermissions":{"find":true}}""", """{"classLevelPermissions":5}""",
    ];

    [Theory]
    [MemberData(nameof(HostileSchemaBodies))]
    public async Task malformed_schema_changes_are_parse_errors_and_change_nothing(string body)
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Sch");
        await client.CreateAsync(cls, new { title = "A" });
        var before = (await client.GetAsync($"schemas/{cls}")).Json!;

        var put = await client.SendTextAsync(HttpMethod.Put, $"schemas/{cls}", body);
        Assert.True(put.Status == HttpStatusCode.BadRequest && put.Code is not null, $"{body}: HTTP {(int)put.Status} {put.Raw}");
        Assert.True(JsonNode.DeepEquals(before, (await client.GetAsync($"schemas/{cls}")).Json), "the schema must not change");

        var created = Wire.Unique("Sch");
        var post = await client.SendTextAsync(HttpMethod.Post, $"schemas/{created}", body);
        Assert.True(post.Status == HttpStatusCode.BadRequest && post.Code is not null, $"{body}: HTTP {(int)post.Status} {post.Raw}");
        (await client.GetAsync($"schemas/{created}")).EnsureError(103);
    }

    [Fact]
    public async Task put_adds_fields_and_deleting_a_field_drops_its_data()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Sch");
        var id = await client.CreateAsync(cls, new { title = "A", notes = "secret" });

        var added = await client.PutAsync($"schemas/{cls}", new JsonObject { ["fields"] = new JsonObject { ["score"] = Field("Number") } });
        Assert.Equal("Number", added.EnsureStatus(HttpStatusCode.OK).Json!["fields"]!["score"]!["type"]!.GetValue<string>());

        var removed = await client.PutAsync($"schemas/{cls}", new JsonObject { ["className"] = cls, ["fields"] = new JsonObject { ["notes"] = Delete() } });
        Assert.Null(removed.EnsureStatus(HttpStatusCode.OK).Json!["fields"]!["notes"]);
        Assert.False((await client.GetAsync($"classes/{cls}/{id}")).Json!.AsObject().ContainsKey("notes"));
        Assert.Empty(await client.IdsAsync(cls, new JsonObject { ["notes"] = new JsonObject { ["$exists"] = true } }));

        // Re-adding the field with another type starts empty.
        (await client.PutAsync($"schemas/{cls}", new JsonObject { ["fields"] = new JsonObject { ["notes"] = Field("Number") } })).EnsureStatus(HttpStatusCode.OK);
        (await client.PutAsync($"classes/{cls}/{id}", new { notes = 5 })).EnsureStatus(HttpStatusCode.OK);

        (await client.PutAsync($"schemas/{cls}", new JsonObject { ["fields"] = new JsonObject { ["title"] = Field("Number") } })).EnsureError(255);
        (await client.PutAsync($"schemas/{cls}", new JsonObject { ["fields"] = new JsonObject { ["nothing"] = Delete() } })).EnsureError(255);
        (await client.PutAsync($"schemas/{cls}", new JsonObject { ["fields"] = new JsonObject { ["objectId"] = Delete() } })).EnsureError(136);
        (await client.PutAsync($"schemas/{Wire.Unique("Nope")}", new JsonObject { ["fields"] = new JsonObject() })).EnsureError(103);
        (await client.PutAsync($"schemas/{cls}", new JsonObject { ["className"] = "Other" })).EnsureError(103);
    }

    [Fact]
    public async Task deleting_a_relation_field_drops_its_members()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Sch");
        var members = Wire.Unique("Mem");
        var m = await client.CreateAsync(members, new { n = 1 });
        var id = await client.CreateAsync(cls, new JsonObject { ["team"] = Wire.Op("AddRelation", Wire.PointerTo(members, m)) });
        JsonObject RelatedTo() => new() { ["$relatedTo"] = new JsonObject { ["object"] = Wire.PointerTo(cls, id), ["key"] = "team" } };
        Assert.Single(await client.IdsAsync(members, RelatedTo()));

        (await client.PutAsync($"schemas/{cls}", new JsonObject { ["fields"] = new JsonObject { ["team"] = Delete() } })).EnsureStatus(HttpStatusCode.OK);
        Assert.False((await client.GetAsync($"classes/{cls}/{id}")).Json!.AsObject().ContainsKey("team"));
        Assert.Empty(await client.IdsAsync(members, RelatedTo()));
    }

    [Fact]
    public async Task put_clp_replaces_the_whole_clp_and_omitted_operations_become_master_only()
    {
        using var master = Server.Client().AsMaster();
        var cls = Wire.Unique("Sch");
        var id = await master.CreateAsync(cls, new { title = "A" });

        var response = await master.PutAsync($"schemas/{cls}", new JsonObject
        {
            ["classLevelPermissions"] = new JsonObject { ["get"] = new JsonObject { ["*"] = true }, ["find"] = new JsonObject { ["requiresAuthentication"] = true } },
        });
        var clp = response.EnsureStatus(HttpStatusCode.OK).Json!["classLevelPermissions"]!;
        Assert.True(JsonNode.DeepEquals(new JsonObject { ["*"] = true }, clp["get"]));
        Assert.True(JsonNode.DeepEquals(new JsonObject { ["requiresAuthentication"] = true }, clp["find"]));
        foreach (var op in new[] { "count", "create", "update", "delete", "addField" })
            Assert.True(JsonNode.DeepEquals(new JsonObject(), clp[op]), $"{op}: {clp[op]?.ToJsonString() ?? "missing"}");

        using var anonymous = Server.Client();
        (await anonymous.GetAsync($"classes/{cls}/{id}")).EnsureStatus(HttpStatusCode.OK);
        (await anonymous.QueryAsync(cls)).EnsureError(101);
        (await anonymous.PostAsync($"classes/{cls}", new { title = "B" })).EnsureError(119);
        (await anonymous.PutAsync($"classes/{cls}/{id}", new { title = "B" })).EnsureError(119);
        (await anonymous.DeleteAsync($"classes/{cls}/{id}")).EnsureError(119);
        using var user = Server.Client();
        await user.SignUpAsync(Wire.Unique("clp"));
        Assert.Single((await user.QueryAsync(cls)).EnsureStatus(HttpStatusCode.OK).Results);
        (await user.QueryAsync(cls, null, "count=1&limit=0")).EnsureError(119);
        Assert.Equal(1, await master.CountAsync(cls));
        Assert.Equal("A", (await master.GetAsync($"classes/{cls}/{id}")).Json!["title"]!.GetValue<string>());
    }

    [Fact]
    public async Task add_field_clp_stops_clients_from_growing_the_schema()
    {
        using var master = Server.Client().AsMaster();
        var cls = Wire.Unique("Sch");
        var id = await master.CreateAsync(cls, new { title = "A" });
        var clp = new JsonObject();
        foreach (var op in new[] { "find", "count", "get", "create", "update", "delete" }) clp[op] = new JsonObject { ["*"] = true };
        (await master.PutAsync($"schemas/{cls}", new JsonObject { ["classLevelPermissions"] = clp })).EnsureStatus(HttpStatusCode.OK);

        using var client = Server.Client();
        (await client.PostAsync($"classes/{cls}", new { title = "B" })).EnsureStatus(HttpStatusCode.Created);
        (await client.PostAsync($"classes/{cls}", new { title = "C", extra = 1 })).EnsureError(119);
        (await client.PutAsync($"classes/{cls}/{id}", new { extra = 1 })).EnsureError(119);
        Assert.Null((await master.GetAsync($"schemas/{cls}")).Json!["fields"]!["extra"]);
        Assert.Equal(2, await master.CountAsync(cls));
    }

    [Fact]
    public async Task indexes_are_added_listed_and_deleted_with_parse_errors_for_misuse()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Sch");
        await client.CreateAsync(cls, new { stage = "lead", amount = 1 });

        var added = await client.PutAsync($"schemas/{cls}", new JsonObject { ["indexes"] = new JsonObject { ["stage_amount"] = new JsonObject { ["stage"] = 1, ["amount"] = -1 } } });
        var indexes = added.EnsureStatus(HttpStatusCode.OK).Json!["indexes"]!;
        Assert.True(JsonNode.DeepEquals(new JsonObject { ["stage"] = 1, ["amount"] = -1 }, indexes["stage_amount"]));
        Assert.True(JsonNode.DeepEquals(new JsonObject { ["_id"] = 1 }, indexes["_id_"]));

        (await client.PutAsync($"schemas/{cls}", new JsonObject { ["indexes"] = new JsonObject { ["stage_amount"] = new JsonObject { ["stage"] = 1 } } })).EnsureError(102);
        (await client.PutAsync($"schemas/{cls}", new JsonObject { ["indexes"] = new JsonObject { ["other"] = new JsonObject { ["missing"] = 1 } } })).EnsureError(102);
        (await client.PutAsync($"schemas/{cls}", new JsonObject { ["indexes"] = new JsonObject { ["nothing"] = Delete() } })).EnsureError(102);

        var removed = await client.PutAsync($"schemas/{cls}", new JsonObject { ["indexes"] = new JsonObject { ["stage_amount"] = Delete() } });
        Assert.Null(removed.EnsureStatus(HttpStatusCode.OK).Json!["indexes"]);
        // The data is untouched by index changes.
        Assert.Single(await client.IdsAsync(cls, new JsonObject { ["stage"] = "lead" }));
    }

    [Fact]
    public async Task delete_drops_only_an_empty_class()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Sch");
        var id = await client.CreateAsync(cls, new { title = "A" });

        var refused = (await client.DeleteAsync($"schemas/{cls}")).EnsureError(255);
        Assert.Equal($"Class {cls} is not empty, contains 1 objects, cannot drop schema.", refused.Json!["error"]!.GetValue<string>());
        Assert.Equal(1, await client.CountAsync(cls));

        (await client.DeleteAsync($"classes/{cls}/{id}")).EnsureStatus(HttpStatusCode.OK);
        Assert.Empty((await client.DeleteAsync($"schemas/{cls}")).EnsureStatus(HttpStatusCode.OK).Json!.AsObject());
        (await client.GetAsync($"schemas/{cls}")).EnsureError(103);
        Assert.DoesNotContain((await client.GetAsync("schemas")).Json!["results"]!.AsArray(), s => s!["className"]!.GetValue<string>() == cls);
        // The class can be created again from scratch, with new types.
        await client.CreateAsync(cls, new { title = 5 });
        Assert.Equal("Number", (await client.GetAsync($"schemas/{cls}")).Json!["fields"]!["title"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task saving_an_unknown_field_adds_it_to_the_schema_with_the_inferred_type()
    {
        using var master = Server.Client().AsMaster();
        var cls = Wire.Unique("Sch");
        var id = await master.CreateAsync(cls, new { title = "A" });
        using var client = Server.Client();
        (await client.PutAsync($"classes/{cls}/{id}", new JsonObject { ["closeDate"] = Wire.Date("2024-06-30T00:00:00.000Z"), ["won"] = true })).EnsureStatus(HttpStatusCode.OK);
        var fields = (await master.GetAsync($"schemas/{cls}")).Json!["fields"]!;
        Assert.Equal("Date", fields["closeDate"]!["type"]!.GetValue<string>());
        Assert.Equal("Boolean", fields["won"]!["type"]!.GetValue<string>());
        (await client.PutAsync($"classes/{cls}/{id}", new { won = "yes" })).EnsureError(111);
        Assert.True((await master.GetAsync($"classes/{cls}/{id}")).Json!["won"]!.GetValue<bool>());
    }

    [Fact]
    public async Task a_missing_required_field_is_142_and_defaults_fill_undefined_fields()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Sch");
        (await client.PostAsync($"schemas/{cls}", new JsonObject
        {
            ["fields"] = new JsonObject
            {
                ["title"] = new JsonObject { ["type"] = "String", ["required"] = true },
                ["stage"] = new JsonObject { ["type"] = "String", ["defaultValue"] = "lead" },
            },
        })).EnsureStatus(HttpStatusCode.OK);

        var missing = (await client.PostAsync($"classes/{cls}", new { stage = "won" })).EnsureError(142);
        Assert.Equal("title is required", missing.Json!["error"]!.GetValue<string>());
        (await client.PostAsync($"classes/{cls}", new { title = "" })).EnsureError(142);
        (await client.PostAsync($"classes/{cls}", new JsonObject { ["title"] = null })).EnsureError(142);
        Assert.Equal(0, await client.CountAsync(cls));

        var id = await client.CreateAsync(cls, new { title = "A" });
        Assert.Equal("lead", (await client.GetAsync($"classes/{cls}/{id}")).Json!["stage"]!.GetValue<string>());
        var deleted = await client.CreateAsync(cls, new JsonObject { ["title"] = "B", ["stage"] = new JsonObject { ["__op"] = "Delete" } });
        Assert.Equal("lead", (await client.GetAsync($"classes/{cls}/{deleted}")).Json!["stage"]!.GetValue<string>());
        var given = await client.CreateAsync(cls, new { title = "C", stage = "won" });
        Assert.Equal("won", (await client.GetAsync($"classes/{cls}/{given}")).Json!["stage"]!.GetValue<string>());
        (await client.PutAsync($"classes/{cls}/{id}", new JsonObject { ["title"] = new JsonObject { ["__op"] = "Delete" } })).EnsureError(142);
        (await client.PutAsync($"classes/{cls}/{id}", new { title = "" })).EnsureError(142);
        Assert.Equal("A", (await client.GetAsync($"classes/{cls}/{id}")).Json!["title"]!.GetValue<string>());
    }

    [Fact]
    public async Task a_failed_create_does_not_add_its_new_fields_to_the_schema()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Sch");
        (await client.PostAsync($"schemas/{cls}", new JsonObject { ["fields"] = new JsonObject { ["title"] = new JsonObject { ["type"] = "String", ["required"] = true } } }))
            .EnsureStatus(HttpStatusCode.OK);
        (await client.PostAsync($"classes/{cls}", new { newField = 1 })).EnsureError(142);
        Assert.Null((await client.GetAsync($"schemas/{cls}")).Json!["fields"]!["newField"]);
    }

    [Fact]
    public async Task an_update_of_a_missing_or_unwritable_object_does_not_add_fields_to_the_schema()
    {
        using var master = Server.Client().AsMaster();
        var cls = Wire.Unique("Sch");
        var locked = await master.CreateAsync(cls, new JsonObject { ["title"] = "A", ["ACL"] = new JsonObject() });
        using var client = Server.Client();
        (await client.PutAsync($"classes/{cls}/nosuchid00", new { injected = 1 })).EnsureError(101);
        (await client.PutAsync($"classes/{cls}/{locked}", new { injected2 = 1 })).EnsureError(101);
        var fields = (await master.GetAsync($"schemas/{cls}")).Json!["fields"]!.AsObject();
        Assert.False(fields.ContainsKey("injected"));
        Assert.False(fields.ContainsKey("injected2"));
    }

    [Fact]
    public async Task client_class_creation_is_off_by_default_but_master_may_create_classes()
    {
        using var client = Server.Client();
        var cls = Wire.Unique("Sch");
        var refused = (await client.PostAsync($"classes/{cls}", new { title = "A" })).EnsureError(119);
        Assert.Equal($"This user is not allowed to access non-existent class: {cls}", refused.Json!["error"]!.GetValue<string>());
        using var master = Server.Client().AsMaster();
        (await master.GetAsync($"schemas/{cls}")).EnsureError(103);
        await master.CreateAsync(cls, new { title = "A" });
        (await client.PostAsync($"classes/{cls}", new { title = "B" })).EnsureStatus(HttpStatusCode.Created);
        Assert.Equal(2, await master.CountAsync(cls));
    }

    [Fact]
    public async Task client_class_creation_can_be_allowed_by_setting()
    {
        using var server = new CrmServer(new Dictionary<string, string?> { ["Parse:AllowClientClassCreation"] = "true" });
        using var client = server.Client();
        var cls = Wire.Unique("Sch");
        (await client.PostAsync($"classes/{cls}", new { title = "A" })).EnsureStatus(HttpStatusCode.Created);
        Assert.Equal(1, await client.CountAsync(cls));
    }

    /// <summary>The parser's view for a master caller: no restrictions.</summary>
    private sealed class MasterScope(SchemaService schemas) : IQueryScope
    {
        public bool IsMaster => true;
        public ClassSchema? Schema(string className) => schemas.Get(className);
        public QueryNode SubqueryRestriction(ClassSchema schema) => QueryNode.True;
        public void EnsureQueryable(ClassSchema schema, string field) { }
    }

    [Fact]
    public async Task a_pipeline_query_by_stage_ordered_by_close_date_is_served_by_the_declared_index()
    {
        using var server = new CrmServer();
        using var client = server.Client().AsMaster();
        (await client.PostAsync("schemas/Deal", new JsonObject
        {
            ["fields"] = new JsonObject { ["title"] = Field("String"), ["stage"] = Field("String"), ["expectedCloseDate"] = Field("Date"), ["amount"] = Field("Number") },
            ["indexes"] = new JsonObject { ["stage_close"] = new JsonObject { ["stage"] = 1, ["expectedCloseDate"] = 1 } },
        })).EnsureStatus(HttpStatusCode.OK);
        var batch = new JsonArray([.. Enumerable.Range(0, 40).Select(i => (JsonNode)new JsonObject
        {
            ["method"] = "POST", ["path"] = "/parse/classes/Deal",
            ["body"] = new JsonObject { ["title"] = $"d{i}", ["stage"] = i % 2 == 0 ? "won" : "lead", ["expectedCloseDate"] = Wire.Date($"2024-01-{i % 28 + 1:00}T00:00:00.000Z") },
        })]);
        (await client.PostAsync("batch", new JsonObject { ["requests"] = batch })).EnsureStatus(HttpStatusCode.OK);

        var schemas = server.Services.GetRequiredService<SchemaService>();
        var schema = schemas.Get("Deal")!;
        if (CrmServer.UsesCosmos)
            await AssertCosmosCompositeIndexAsync(server, schema);
        else
            await AssertSqlitePlanUsesIndexAsync(server, schema, schemas);

        // And the query itself answers in close-date order over REST.
        var dates = (await client.QueryAsync("Deal", new JsonObject { ["stage"] = "won" }, "order=expectedCloseDate&limit=100")).Results
            .Select(r => r!["expectedCloseDate"]!["iso"]!.GetValue<string>()).ToList();
        Assert.Equal(20, dates.Count);
        Assert.Equal(dates.Order(StringComparer.Ordinal), dates);
    }

    /// <summary>Query plans are a SQLite property: its EXPLAIN QUERY PLAN names the index that serves the query.</summary>
    private static async Task AssertSqlitePlanUsesIndexAsync(CrmServer server, ClassSchema schema, SchemaService schemas)
    {
        var where = new WhereParser(new global::Crm.Functions.Core.LimitSettings()).Parse(new JsonObject { ["stage"] = "won" }, schema, new MasterScope(schemas));
        var order = new List<SortKey> { new(WhereParser.ResolveField("expectedCloseDate", schema), false) };
        var store = Assert.IsType<SqliteObjectStore>(server.Services.GetRequiredService<IObjectStore>());
        var plan = await store.ExplainAsync(new StoreQuery("Deal", where, order, 0, 100), CancellationToken.None);

        Assert.Contains("USING INDEX ix_Deal__stage_close", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("TEMP B-TREE", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("SCAN", plan, StringComparison.Ordinal);
        // A client's query carries its ACL restriction as a filter; the index still serves it.
        var restricted = QueryNode.And(where, new AclNode(["*", "someUserId"], false));
        var clientPlan = await store.ExplainAsync(new StoreQuery("Deal", restricted, order, 0, 100), CancellationToken.None);
        Assert.Contains("USING INDEX ix_Deal__stage_close", clientPlan, StringComparison.Ordinal);
        Assert.DoesNotContain("TEMP B-TREE", clientPlan, StringComparison.Ordinal);
    }

    /// <summary>
    /// Cosmos exposes no query plan (and the local API server serves no index at all); what the store controls is
    /// the container's indexing policy: the declared index must be a composite index of the class's container.
    /// </summary>
    private static async Task AssertCosmosCompositeIndexAsync(CrmServer server, ClassSchema schema)
    {
        using var cosmos = CosmosTestServer.Instance.CreateClient();
        var container = await cosmos.GetDatabase(server.CosmosDatabase).GetContainer("Deal").ReadContainerAsync();
        static string Keys(IEnumerable<CompositePath> paths) => string.Join(",", paths.Select(p => p.Path + " " + p.Order));
        var declared = Keys([
            new CompositePath { Path = "/data/stage", Order = CompositePathSortOrder.Ascending },
            new CompositePath { Path = "/data/expectedCloseDate/iso", Order = CompositePathSortOrder.Ascending },
        ]);
        Assert.Contains(declared, CosmosIndexing.For(schema).CompositeIndexes.Select(Keys));
        Assert.Contains(declared, container.Resource.IndexingPolicy.CompositeIndexes.Select(Keys));
    }
}
