using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests;

public sealed class UpdateOperatorTests(CrmServerFixture fixture) : IClassFixture<CrmServerFixture>
{
    private CrmServer Server => fixture.Server;

    private static JsonObject Increment(double amount) => new() { ["__op"] = "Increment", ["amount"] = amount };

    private static async Task<JsonObject> FetchAsync(ParseClient client, string cls, string id) =>
        (await client.GetAsync($"classes/{cls}/{id}")).EnsureStatus(HttpStatusCode.OK).Json!.AsObject();

    [Fact]
    public async Task increment_adds_and_echoes_the_new_value()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Upd");
        var id = await client.CreateAsync(cls, new { amount = 12000 });

        var response = await client.PutAsync($"classes/{cls}/{id}", new JsonObject { ["amount"] = Increment(500), ["stage"] = "won" });
        response.EnsureStatus(HttpStatusCode.OK);
        var body = response.Json!.AsObject();
        Assert.Equal(12500, body["amount"]!.GetValue<long>());
        Assert.False(body.ContainsKey("stage")); // plain sets are not echoed
        Assert.Equal(2, body.Count);

        var negative = await client.PutAsync($"classes/{cls}/{id}", new JsonObject { ["amount"] = Increment(-0.5) });
        Assert.Equal(12499.5, negative.EnsureStatus(HttpStatusCode.OK).Json!["amount"]!.GetValue<double>());
        Assert.Equal(12499.5, (await FetchAsync(client, cls, id))["amount"]!.GetValue<double>());
    }

    [Fact]
    public async Task increment_of_a_missing_field_starts_from_zero_and_on_create_is_flattened()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Upd");
        var created = await client.PostAsync($"classes/{cls}", new JsonObject { ["calls"] = Increment(3) });
        created.EnsureStatus(HttpStatusCode.Created);
        Assert.Equal(3, created.Json!["calls"]!.GetValue<long>());
        var id = created.Json["objectId"]!.GetValue<string>();
        Assert.Equal(3, (await FetchAsync(client, cls, id))["calls"]!.GetValue<long>());

        var response = await client.PutAsync($"classes/{cls}/{id}", new JsonObject { ["visits"] = Increment(1) });
        Assert.Equal(1, response.EnsureStatus(HttpStatusCode.OK).Json!["visits"]!.GetValue<long>());
        Assert.Equal("Number", (await client.GetAsync($"schemas/{cls}")).Json!["fields"]!["visits"]!["type"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"__op":"Increment"}""")]
    [InlineData("""{"__op":"Increment","amount":"5"}""")]
    [InlineData("""{"__op":"Increment","amount":null}""")]
    public async Task increment_without_a_number_is_107_and_changes_nothing(string op)
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Upd");
        var id = await client.CreateAsync(cls, new { amount = 1 });
        (await client.SendTextAsync(HttpMethod.Put, $"classes/{cls}/{id}", $$"""{"amount":{{op}},"title":"changed"}""")).EnsureError(107);
        var obj = await FetchAsync(client, cls, id);
        Assert.Equal(1, obj["amount"]!.GetValue<int>());
        Assert.False(obj.ContainsKey("title"));
    }

    [Fact]
    public async Task add_appends_and_echoes_the_whole_array()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Upd");
        var id = await client.CreateAsync(cls, new { tags = new[] { "a" } });
        var response = await client.PutAsync($"classes/{cls}/{id}", new JsonObject { ["tags"] = Wire.Op("Add", "b", "a") });
        Assert.True(JsonNode.DeepEquals(new JsonArray("a", "b", "a"), response.EnsureStatus(HttpStatusCode.OK).Json!["tags"]), response.Raw);
        Assert.True(JsonNode.DeepEquals(new JsonArray("a", "b", "a"), (await FetchAsync(client, cls, id))["tags"]));
    }

    [Fact]
    public async Task add_unique_appends_only_absent_values_comparing_pointers_by_class_and_id()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Upd");
        var p1 = Wire.PointerTo("Company", "aaaaaaaaaa");
        var id = await client.CreateAsync(cls, new JsonObject { ["tags"] = new JsonArray("a", 1), ["refs"] = new JsonArray(p1.DeepClone()) });

        var response = await client.PutAsync($"classes/{cls}/{id}", new JsonObject
        {
            ["tags"] = Wire.Op("AddUnique", "a", "b", 1, "b"),
            ["refs"] = Wire.Op("AddUnique", Wire.PointerTo("Company", "aaaaaaaaaa"), Wire.PointerTo("Company", "bbbbbbbbbb")),
        });
        var body = response.EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.True(JsonNode.DeepEquals(new JsonArray("a", 1, "b"), body["tags"]), response.Raw);
        Assert.Equal(2, body["refs"]!.AsArray().Count);
        var stored = await FetchAsync(client, cls, id);
        Assert.True(JsonNode.DeepEquals(new JsonArray("a", 1, "b"), stored["tags"]));
        Assert.Equal(2, stored["refs"]!.AsArray().Count);
    }

    [Fact]
    public async Task remove_deletes_every_occurrence_and_echoes_the_array()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Upd");
        var id = await client.CreateAsync(cls, new JsonObject
        {
            ["tags"] = new JsonArray("a", "b", "a", "c"),
            ["refs"] = new JsonArray(Wire.PointerTo("Company", "aaaaaaaaaa"), Wire.PointerTo("Company", "bbbbbbbbbb")),
        });
        var response = await client.PutAsync($"classes/{cls}/{id}", new JsonObject
        {
            ["tags"] = Wire.Op("Remove", "a", "zzz"),
            ["refs"] = Wire.Op("Remove", Wire.PointerTo("Company", "aaaaaaaaaa")),
        });
        var body = response.EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.True(JsonNode.DeepEquals(new JsonArray("b", "c"), body["tags"]), response.Raw);
        Assert.True(JsonNode.DeepEquals(new JsonArray(Wire.PointerTo("Company", "bbbbbbbbbb")), body["refs"]), response.Raw);
        Assert.True(JsonNode.DeepEquals(new JsonArray("b", "c"), (await FetchAsync(client, cls, id))["tags"]));
    }

    [Fact]
    public async Task array_ops_on_create_are_flattened()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Upd");
        var created = await client.PostAsync($"classes/{cls}", new JsonObject
        {
            ["added"] = Wire.Op("Add", "x", "x"),
            ["unique"] = Wire.Op("AddUnique", "y", "y"),
            ["removed"] = Wire.Op("Remove", "z"),
            ["gone"] = new JsonObject { ["__op"] = "Delete" },
        });
        created.EnsureStatus(HttpStatusCode.Created);
        var obj = await FetchAsync(client, cls, created.Json!["objectId"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(new JsonArray("x", "x"), obj["added"]));
        Assert.True(JsonNode.DeepEquals(new JsonArray("y"), obj["unique"]));
        Assert.True(JsonNode.DeepEquals(new JsonArray(), obj["removed"]));
        Assert.False(obj.ContainsKey("gone"));
    }

    [Fact]
    public async Task delete_removes_the_field_and_is_not_echoed()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Upd");
        var id = await client.CreateAsync(cls, new { notes = "x", title = "A" });
        var response = await client.PutAsync($"classes/{cls}/{id}", new JsonObject { ["notes"] = new JsonObject { ["__op"] = "Delete" } });
        Assert.Single(response.EnsureStatus(HttpStatusCode.OK).Json!.AsObject());
        var obj = await FetchAsync(client, cls, id);
        Assert.False(obj.ContainsKey("notes"));
        Assert.Equal("A", obj["title"]!.GetValue<string>());
        Assert.Single(await client.IdsAsync(cls, new JsonObject { ["notes"] = new JsonObject { ["$exists"] = false } }));
    }

    [Theory]
    [InlineData("Add")]
    [InlineData("AddUnique")]
    [InlineData("Remove")]
    [InlineData("AddRelation")]
    public async Task array_ops_without_an_objects_array_are_107(string op)
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Upd");
        var id = await client.CreateAsync(cls, new { title = "A" });
        (await client.PutAsync($"classes/{cls}/{id}", new JsonObject { ["tags"] = new JsonObject { ["__op"] = op, ["objects"] = "a" } })).EnsureError(107);
        Assert.False((await FetchAsync(client, cls, id)).ContainsKey("tags"));
    }

    [Fact]
    public async Task a_failing_operator_in_a_multi_field_update_leaves_every_field_unchanged()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Upd");
        var id = await client.CreateAsync(cls, new { amount = 1, title = "A", tags = new[] { "a" } });
        var response = await client.PutAsync($"classes/{cls}/{id}", new JsonObject
        {
            ["amount"] = Increment(5),
            ["tags"] = Wire.Op("Add", "b"),
            ["title"] = 7, // wrong type
        });
        response.EnsureError(111);
        var obj = await FetchAsync(client, cls, id);
        Assert.Equal(1, obj["amount"]!.GetValue<int>());
        Assert.Equal("A", obj["title"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(new JsonArray("a"), obj["tags"]));
    }
}
