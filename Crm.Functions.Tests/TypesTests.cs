using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests;

/// <summary>Every Parse data type survives a write and a read unchanged (and malformed typed values are 111).</summary>
public sealed class TypesTests(CrmServerFixture fixture) : IClassFixture<CrmServerFixture>
{
    private CrmServer Server => fixture.Server;

    private async Task<(ParseClient Client, string Class, JsonObject Stored)> RoundTripAsync(string field, JsonNode value)
    {
        var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Typ");
        var id = await client.CreateAsync(cls, new JsonObject { [field] = value.DeepClone() });
        var stored = (await client.GetAsync($"classes/{cls}/{id}")).EnsureStatus(HttpStatusCode.OK).Json!.AsObject();
        return (client, cls, stored);
    }

    private static async Task<string> SchemaTypeAsync(ParseClient client, string cls, string field) =>
        (await client.GetAsync($"schemas/{cls}")).EnsureStatus(HttpStatusCode.OK).Json!["fields"]![field]!["type"]!.GetValue<string>();

    [Fact]
    public async Task strings_numbers_and_booleans_round_trip()
    {
        var value = new JsonObject { ["s"] = "héllo \"quoted\" ✓", ["i"] = 42, ["d"] = 12.5, ["neg"] = -3, ["t"] = true, ["f"] = false };
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Typ");
        var id = await client.CreateAsync(cls, value.DeepClone());
        var stored = (await client.GetAsync($"classes/{cls}/{id}")).Json!.AsObject();
        foreach (var (key, expected) in value) Assert.True(JsonNode.DeepEquals(expected, stored[key]), $"{key}: {stored[key]?.ToJsonString()}");
        Assert.Equal("String", await SchemaTypeAsync(client, cls, "s"));
        Assert.Equal("Number", await SchemaTypeAsync(client, cls, "d"));
        Assert.Equal("Boolean", await SchemaTypeAsync(client, cls, "t"));
    }

    [Fact]
    public async Task dates_round_trip_with_type_and_are_normalised_to_milliseconds_utc()
    {
        var (client, cls, stored) = await RoundTripAsync("closeDate", Wire.Date("2024-06-30T00:00:00.000Z"));
        using var owned = client;
        Assert.True(JsonNode.DeepEquals(Wire.Date("2024-06-30T00:00:00.000Z"), stored["closeDate"]), stored["closeDate"]!.ToJsonString());
        Assert.Equal("Date", await SchemaTypeAsync(client, cls, "closeDate"));

        var id = await client.CreateAsync(cls, new JsonObject { ["closeDate"] = Wire.Date("2024-06-30T02:00:00+02:00") });
        var normalised = (await client.GetAsync($"classes/{cls}/{id}")).Json!["closeDate"]!;
        Assert.Equal("2024-06-30T00:00:00.000Z", normalised["iso"]!.GetValue<string>());
    }

    [Fact]
    public async Task pointers_round_trip_and_extra_keys_are_dropped()
    {
        var pointer = Wire.PointerTo("Company", "Qw7Yx2LmNo");
        var sent = (JsonObject)pointer.DeepClone();
        sent["name"] = "Acme";
        var (client, cls, stored) = await RoundTripAsync("company", sent);
        using var owned = client;
        Assert.True(JsonNode.DeepEquals(pointer, stored["company"]), stored["company"]!.ToJsonString());
        var schema = (await client.GetAsync($"schemas/{cls}")).Json!["fields"]!["company"]!;
        Assert.Equal("Pointer", schema["type"]!.GetValue<string>());
        Assert.Equal("Company", schema["targetClass"]!.GetValue<string>());
    }

    [Fact]
    public async Task a_pointer_to_another_class_than_the_schema_target_is_111()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Typ");
        var id = await client.CreateAsync(cls, new JsonObject { ["company"] = Wire.PointerTo("Company", "Qw7Yx2LmNo") });
        (await client.PostAsync($"classes/{cls}", new JsonObject { ["company"] = Wire.PointerTo("Contact", "Qw7Yx2LmNo") })).EnsureError(111);
        (await client.PutAsync($"classes/{cls}/{id}", new JsonObject { ["company"] = Wire.PointerTo("Contact", "Qw7Yx2LmNo") })).EnsureError(111);
        Assert.Equal(1, await client.CountAsync(cls));
    }

    [Fact]
    public async Task files_round_trip_with_the_url_filled_in()
    {
        var (client, cls, stored) = await RoundTripAsync("quote", new JsonObject { ["__type"] = "File", ["name"] = "1f2e_quote.pdf", ["url"] = "http://evil.example/x" });
        using var owned = client;
        var file = stored["quote"]!;
        Assert.Equal("File", file["__type"]!.GetValue<string>());
        Assert.Equal("1f2e_quote.pdf", file["name"]!.GetValue<string>());
        var url = file["url"]!.GetValue<string>();
        Assert.Equal($"{Server.ParseUrl}/files/{CrmServer.AppId}/1f2e_quote.pdf", url);
        Assert.Equal("File", await SchemaTypeAsync(client, cls, "quote"));
    }

    [Fact]
    public async Task files_inside_arrays_and_objects_get_their_url_too()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Typ");
        JsonObject File(string name) => new() { ["__type"] = "File", ["name"] = name };
        var id = await client.CreateAsync(cls, new JsonObject { ["docs"] = new JsonArray(File("a.pdf")), ["meta"] = new JsonObject { ["logo"] = File("b.png") } });
        var stored = (await client.GetAsync($"classes/{cls}/{id}")).Json!;
        Assert.Equal($"{Server.ParseUrl}/files/{CrmServer.AppId}/a.pdf", stored["docs"]![0]!["url"]!.GetValue<string>());
        Assert.Equal($"{Server.ParseUrl}/files/{CrmServer.AppId}/b.png", stored["meta"]!["logo"]!["url"]!.GetValue<string>());
        var found = (await client.QueryAsync(cls)).Results.Single()!;
        Assert.Equal($"{Server.ParseUrl}/files/{CrmServer.AppId}/a.pdf", found["docs"]![0]!["url"]!.GetValue<string>());
    }

    [Fact]
    public async Task file_urls_use_the_configured_public_server_url()
    {
        using var server = new CrmServer(new Dictionary<string, string?> { ["Parse:PublicServerUrl"] = "https://api.example.com/parse" });
        using var client = server.Client().AsMaster();
        var cls = Wire.Unique("Typ");
        var id = await client.CreateAsync(cls, new JsonObject { ["quote"] = new JsonObject { ["__type"] = "File", ["name"] = "q.pdf" } });
        var stored = (await client.GetAsync($"classes/{cls}/{id}")).Json!;
        Assert.Equal($"https://api.example.com/parse/files/{CrmServer.AppId}/q.pdf", stored["quote"]!["url"]!.GetValue<string>());
    }

    [Fact]
    public async Task geopoints_polygons_and_bytes_round_trip()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Typ");
        var values = new JsonObject
        {
            ["location"] = new JsonObject { ["__type"] = "GeoPoint", ["latitude"] = 48.85, ["longitude"] = 2.35 },
            ["area"] = new JsonObject { ["__type"] = "Polygon", ["coordinates"] = new JsonArray(new JsonArray(0, 0), new JsonArray(0, 1), new JsonArray(1, 1)) },
            ["blob"] = new JsonObject { ["__type"] = "Bytes", ["base64"] = "AAEC" },
        };
        var id = await client.CreateAsync(cls, values.DeepClone());
        var stored = (await client.GetAsync($"classes/{cls}/{id}")).Json!.AsObject();
        foreach (var (key, expected) in values) Assert.True(JsonNode.DeepEquals(expected, stored[key]), $"{key}: {stored[key]?.ToJsonString()}");
        Assert.Equal("GeoPoint", await SchemaTypeAsync(client, cls, "location"));
        Assert.Equal("Polygon", await SchemaTypeAsync(client, cls, "area"));
        Assert.Equal("Bytes", await SchemaTypeAsync(client, cls, "blob"));
    }

    [Fact]
    public async Task objects_and_arrays_round_trip_including_nested_typed_values()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Typ");
        var values = new JsonObject
        {
            ["address"] = new JsonObject { ["city"] = "Paris", ["zip"] = "75001", ["geo"] = new JsonObject { ["n"] = 1 } },
            ["tags"] = new JsonArray("vip", 1, true, null, new JsonObject { ["a"] = 1 }, Wire.PointerTo("Company", "Qw7Yx2LmNo"), Wire.Date("2024-01-01T00:00:00.000Z")),
            ["empty"] = new JsonArray(),
        };
        var id = await client.CreateAsync(cls, values.DeepClone());
        var stored = (await client.GetAsync($"classes/{cls}/{id}")).Json!.AsObject();
        foreach (var (key, expected) in values) Assert.True(JsonNode.DeepEquals(expected, stored[key]), $"{key}: {stored[key]?.ToJsonString()}");
        Assert.Equal("Object", await SchemaTypeAsync(client, cls, "address"));
        Assert.Equal("Array", await SchemaTypeAsync(client, cls, "tags"));
    }

    [Fact]
    public async Task dot_path_updates_change_one_key_of_an_object_field()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Typ");
        var id = await client.CreateAsync(cls, new JsonObject { ["address"] = new JsonObject { ["city"] = "Paris", ["zip"] = "75001" }, ["stats"] = new JsonObject { ["calls"] = 1 } });

        var response = await client.PutAsync($"classes/{cls}/{id}", new JsonObject
        {
            ["address.city"] = "Lyon",
            ["stats.calls"] = new JsonObject { ["__op"] = "Increment", ["amount"] = 2 },
        });
        response.EnsureStatus(HttpStatusCode.OK);
        Assert.Equal(3, response.Json!["stats.calls"]!.GetValue<int>());

        var stored = (await client.GetAsync($"classes/{cls}/{id}")).Json!;
        Assert.Equal("Lyon", stored["address"]!["city"]!.GetValue<string>());
        Assert.Equal("75001", stored["address"]!["zip"]!.GetValue<string>());
        Assert.Equal(3, stored["stats"]!["calls"]!.GetValue<int>());
        Assert.Single(await client.IdsAsync(cls, new JsonObject { ["address.city"] = "Lyon" }));
    }

    [Fact]
    public async Task a_dot_path_into_a_non_object_field_is_111()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Typ");
        var id = await client.CreateAsync(cls, new JsonObject { ["title"] = "A" });
        (await client.PutAsync($"classes/{cls}/{id}", new JsonObject { ["title.x"] = 1 })).EnsureError(111);
        Assert.Equal("A", (await client.GetAsync($"classes/{cls}/{id}")).Json!["title"]!.GetValue<string>());
    }

    [Fact]
    public async Task relations_are_changed_with_add_and_remove_relation_and_queried_with_relatedTo()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Typ");
        var member = Wire.Unique("Mem");
        var a = await client.CreateAsync(member, new { name = "a" });
        var b = await client.CreateAsync(member, new { name = "b" });
        var c = await client.CreateAsync(member, new { name = "c" });

        var created = await client.PostAsync($"classes/{cls}", new JsonObject
        {
            ["title"] = "team",
            ["members"] = Wire.Op("AddRelation", Wire.PointerTo(member, a), Wire.PointerTo(member, b)),
        });
        created.EnsureStatus(HttpStatusCode.Created);
        Assert.False(created.Json!.AsObject().ContainsKey("members"));
        var id = created.Json!["objectId"]!.GetValue<string>();

        var stored = (await client.GetAsync($"classes/{cls}/{id}")).Json!;
        Assert.True(JsonNode.DeepEquals(new JsonObject { ["__type"] = "Relation", ["className"] = member }, stored["members"]), stored["members"]!.ToJsonString());
        var schema = (await client.GetAsync($"schemas/{cls}")).Json!["fields"]!["members"]!;
        Assert.Equal("Relation", schema["type"]!.GetValue<string>());
        Assert.Equal(member, schema["targetClass"]!.GetValue<string>());

        JsonObject RelatedTo() => new() { ["$relatedTo"] = new JsonObject { ["object"] = Wire.PointerTo(cls, id), ["key"] = "members" } };
        Assert.Equal(new[] { a, b }.Order(), (await client.IdsAsync(member, RelatedTo())).Order());

        var update = await client.PutAsync($"classes/{cls}/{id}", new JsonObject
        {
            ["members"] = new JsonObject
            {
                ["__op"] = "Batch",
                ["ops"] = new JsonArray(Wire.Op("AddRelation", Wire.PointerTo(member, c)), Wire.Op("RemoveRelation", Wire.PointerTo(member, a))),
            },
        });
        update.EnsureStatus(HttpStatusCode.OK);
        Assert.Equal(new[] { b, c }.Order(), (await client.IdsAsync(member, RelatedTo())).Order());

        (await client.PutAsync($"classes/{cls}/{id}", new JsonObject { ["members"] = Wire.Op("RemoveRelation", Wire.PointerTo(member, b), Wire.PointerTo(member, a)) }))
            .EnsureStatus(HttpStatusCode.OK);
        Assert.Equal([c], await client.IdsAsync(member, RelatedTo()));

        // Pointer equality on a relation field means "relation contains".
        Assert.Equal([id], await client.IdsAsync(cls, new JsonObject { ["members"] = Wire.PointerTo(member, c) }));
        Assert.Empty(await client.IdsAsync(cls, new JsonObject { ["members"] = Wire.PointerTo(member, a) }));
    }

    [Fact]
    public async Task a_relation_of_mixed_classes_or_a_wrong_class_is_111()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Typ");
        var id = await client.CreateAsync(cls, new JsonObject { ["members"] = Wire.Op("AddRelation", Wire.PointerTo("A", "aaaaaaaaaa")) });
        (await client.PutAsync($"classes/{cls}/{id}", new JsonObject { ["members"] = Wire.Op("AddRelation", Wire.PointerTo("B", "bbbbbbbbbb")) })).EnsureError(111);
        (await client.PostAsync($"classes/{cls}", new JsonObject { ["other"] = Wire.Op("AddRelation", Wire.PointerTo("A", "aaaaaaaaaa"), Wire.PointerTo("B", "bbbbbbbbbb")) })).EnsureError(111);
        (await client.PostAsync($"classes/{cls}", new JsonObject { ["other"] = new JsonObject { ["__type"] = "Relation", ["className"] = "A" } })).EnsureError(111);
        Assert.Equal(1, await client.CountAsync(cls));
    }

    public static TheoryData<string> MalformedValues() =>
    [
        """{"__type":"Date"}""",
        """{"__type":"Date","iso":"yesterday"}""",
        """{"__type":"Date","iso":5}""",
        """{"__type":"Pointer","objectId":"Qw7Yx2LmNo"}""",
        """{"__type":"Pointer","className":"Company"}""",
        """{"__type":"Pointer","className":"Bad Class","objectId":"Qw7Yx2LmNo"}""",
        """{"__type":"File"}""",
        """{"__type":"File","name":"../etc/passwd"}""",
        """{"__type":"GeoPoint","latitude":91,"longitude":0}""",
        """{"__type":"GeoPoint","latitude":"48","longitude":2}""",
        """{"__type":"Polygon","coordinates":[[0,0],[1,1]]}""",
        """{"__type":"Polygon","coordinates":"nope"}""",
        """{"__type":"Bytes","base64":"not base64!"}""",
        """{"__type":"Bytes"}""",
        """{"__type":"Banana"}""",
        """{"__type":5}""",
    ];

    [Theory]
    [MemberData(nameof(MalformedValues))]
    public async Task malformed_typed_values_are_111_and_nothing_is_stored(string value)
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Typ");
        var id = await client.CreateAsync(cls, new { title = "seed" });
        (await client.SendTextAsync(HttpMethod.Post, $"classes/{cls}", $$"""{"v":{{value}}}""")).EnsureError(111);
        (await client.SendTextAsync(HttpMethod.Put, $"classes/{cls}/{id}", $$"""{"v":{{value}}}""")).EnsureError(111);
        (await client.SendTextAsync(HttpMethod.Post, $"classes/{cls}", $$"""{"list":[{{value}}]}""")).EnsureError(111);
        Assert.Equal(1, await client.CountAsync(cls));
        Assert.Null((await client.GetAsync($"schemas/{cls}")).Json!["fields"]!["v"]);
        Assert.False((await client.GetAsync($"classes/{cls}/{id}")).Json!.AsObject().ContainsKey("v"));
    }

    [Fact]
    public async Task a_second_geopoint_field_in_a_class_is_111()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Typ");
        await client.CreateAsync(cls, new JsonObject { ["home"] = new JsonObject { ["__type"] = "GeoPoint", ["latitude"] = 1, ["longitude"] = 1 } });
        var response = await client.PostAsync($"classes/{cls}", new JsonObject { ["work"] = new JsonObject { ["__type"] = "GeoPoint", ["latitude"] = 1, ["longitude"] = 1 } });
        response.EnsureError(111);
        Assert.Equal(1, await client.CountAsync(cls));

        // Refused in the write that would create the class: the class is not created either.
        var fresh = Wire.Unique("Typ");
        (await client.PostAsync($"classes/{fresh}", new JsonObject
        {
            ["home"] = new JsonObject { ["__type"] = "GeoPoint", ["latitude"] = 1, ["longitude"] = 1 },
            ["work"] = new JsonObject { ["__type"] = "GeoPoint", ["latitude"] = 2, ["longitude"] = 2 },
        })).EnsureError(111);
        (await client.GetAsync($"schemas/{fresh}")).EnsureError(103);
    }

    [Fact]
    public async Task writing_another_type_to_an_existing_field_is_111_with_parse_message()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Typ");
        var id = await client.CreateAsync(cls, new { amount = 5 });
        var response = await client.PostAsync($"classes/{cls}", new { amount = "five" });
        response.EnsureError(111);
        Assert.Equal($"schema mismatch for {cls}.amount; expected Number but got String", response.Json!["error"]!.GetValue<string>());
        (await client.PutAsync($"classes/{cls}/{id}", new { amount = true })).EnsureError(111);
        (await client.PutAsync($"classes/{cls}/{id}", new JsonObject { ["amount"] = Wire.Date("2024-01-01T00:00:00.000Z") })).EnsureError(111);
        (await client.PutAsync($"classes/{cls}/{id}", new JsonObject { ["amount"] = Wire.Op("Add", 1) })).EnsureError(111);
        Assert.Equal(5, (await client.GetAsync($"classes/{cls}/{id}")).Json!["amount"]!.GetValue<int>());
        Assert.Equal(1, await client.CountAsync(cls));
    }
}
