using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests;

public sealed class ObjectsTests(CrmServerFixture fixture) : IClassFixture<CrmServerFixture>
{
    private const string IsoMillis = @"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$";

    private CrmServer Server => fixture.Server;

    [Fact]
    public async Task create_returns_201_location_objectId_and_createdAt()
    {
        using var client = Server.Client().AsMaster();
        var response = await client.PostAsync("classes/Thing", new { title = "A", amount = 5 });
        response.EnsureStatus(HttpStatusCode.Created);
        var id = response.Json!["objectId"]!.GetValue<string>();
        Assert.Matches("^[A-Za-z0-9]{10}$", id);
        Assert.Matches(IsoMillis, response.Json["createdAt"]!.GetValue<string>());
        Assert.Equal(2, response.Json.AsObject().Count);
        Assert.Equal($"{Server.ParseUrl}/classes/Thing/{id}", response.Location!.ToString());
    }

    [Fact]
    public async Task users_are_reachable_through_both_the_alias_and_the_class_route()
    {
        using var client = Server.Client();
        var name = Wire.Unique("alias");
        var response = await client.PostAsync("users", new { username = name, password = "correct horse battery" });
        response.EnsureStatus(HttpStatusCode.Created);
        var id = response.Json!["objectId"]!.GetValue<string>();
        Assert.Equal($"{Server.ParseUrl}/users/{id}", response.Location!.ToString());
        client.SessionToken = response.Json["sessionToken"]!.GetValue<string>();

        var viaAlias = (await client.GetAsync($"users/{id}")).EnsureStatus(HttpStatusCode.OK).Json!;
        var viaClass = (await client.GetAsync($"classes/_User/{id}")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.True(JsonNode.DeepEquals(viaAlias, viaClass));
        Assert.Equal(name, viaClass["username"]!.GetValue<string>());
        Assert.False(viaClass.AsObject().ContainsKey("password"));
        // A field _User already has: clients do not add fields to it.
        (await client.PutAsync($"classes/_User/{id}", new { email = name + "@example.com" })).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal(name + "@example.com", (await client.GetAsync($"users/{id}")).Json!["email"]!.GetValue<string>());
    }

    [Fact]
    public async Task get_returns_the_bare_object_with_iso_millisecond_timestamps()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Obj");
        var id = await client.CreateAsync(cls, new { title = "Acme", amount = 12000, won = false });

        var response = await client.GetAsync($"classes/{cls}/{id}");
        response.EnsureStatus(HttpStatusCode.OK);
        var obj = response.Json!.AsObject();
        Assert.Null(obj["results"]);
        Assert.Equal(id, obj["objectId"]!.GetValue<string>());
        Assert.Equal("Acme", obj["title"]!.GetValue<string>());
        Assert.Equal(12000, obj["amount"]!.GetValue<int>());
        Assert.False(obj["won"]!.GetValue<bool>());
        Assert.Matches(IsoMillis, obj["createdAt"]!.GetValue<string>());
        Assert.Equal(obj["createdAt"]!.GetValue<string>(), obj["updatedAt"]!.GetValue<string>());
        Assert.False(obj.ContainsKey("ACL"));
        Assert.DoesNotContain(obj, kv => kv.Key.StartsWith('_'));
    }

    [Fact]
    public async Task update_returns_only_updatedAt_and_changes_only_the_given_fields()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Obj");
        var id = await client.CreateAsync(cls, new { title = "A", stage = "lead" });
        var created = (await client.GetAsync($"classes/{cls}/{id}")).Json!;

        await Task.Delay(5);
        var response = await client.PutAsync($"classes/{cls}/{id}", new { stage = "won", objectId = "zzzzzzzzzz", createdAt = "2000-01-01T00:00:00.000Z" });
        response.EnsureStatus(HttpStatusCode.OK);
        var body = response.Json!.AsObject();
        Assert.Single(body);
        var updatedAt = body["updatedAt"]!.GetValue<string>();
        Assert.Matches(IsoMillis, updatedAt);

        var after = (await client.GetAsync($"classes/{cls}/{id}")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Equal("won", after["stage"]!.GetValue<string>());
        Assert.Equal("A", after["title"]!.GetValue<string>());
        Assert.Equal(id, after["objectId"]!.GetValue<string>());
        Assert.Equal(created["createdAt"]!.GetValue<string>(), after["createdAt"]!.GetValue<string>());
        Assert.Equal(updatedAt, after["updatedAt"]!.GetValue<string>());
        Assert.True(string.CompareOrdinal(updatedAt, created["createdAt"]!.GetValue<string>()) > 0);
    }

    [Fact]
    public async Task delete_returns_empty_object_and_the_object_is_gone()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Obj");
        var id = await client.CreateAsync(cls, new { title = "A" });

        var response = await client.DeleteAsync($"classes/{cls}/{id}");
        response.EnsureStatus(HttpStatusCode.OK);
        Assert.Empty(response.Json!.AsObject());

        (await client.GetAsync($"classes/{cls}/{id}")).EnsureError(101);
        (await client.DeleteAsync($"classes/{cls}/{id}")).EnsureError(101);
        Assert.Equal(0, await client.CountAsync(cls));
        // Deleting the last object keeps the class.
        (await client.GetAsync($"schemas/{cls}")).EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task missing_objects_are_101_with_http_404_for_get_update_and_delete()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Obj");
        await client.CreateAsync(cls, new { title = "A" });

        var get = (await client.GetAsync($"classes/{cls}/nosuchid00")).EnsureError(101);
        Assert.Equal("Object not found.", get.Json!["error"]!.GetValue<string>());
        (await client.PutAsync($"classes/{cls}/nosuchid00", new { title = "B" })).EnsureError(101);
        (await client.DeleteAsync($"classes/{cls}/nosuchid00")).EnsureError(101);
        Assert.Equal(1, await client.CountAsync(cls));
    }

    [Theory]
    [InlineData("objectId")]
    [InlineData("id")]
    public async Task a_client_supplied_objectId_on_create_is_105_and_nothing_is_stored(string key)
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Obj");
        await client.CreateAsync(cls, new { title = "first" });

        var response = await client.PostAsync($"classes/{cls}", new JsonObject { [key] = "abcdefghij", ["title"] = "A" });
        response.EnsureError(105);
        Assert.Contains(key, response.Json!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(1, await client.CountAsync(cls));
    }

    [Fact]
    public async Task created_objectIds_are_ten_alphanumerics_and_distinct()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Obj");
        var ids = new List<string>();
        for (var i = 0; i < 20; i++) ids.Add(await client.CreateAsync(cls, new { i }));
        Assert.All(ids, id => Assert.Matches("^[A-Za-z0-9]{10}$", id));
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public async Task client_sent_createdAt_and_updatedAt_on_create_are_ignored()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Obj");
        var response = await client.PostAsync($"classes/{cls}", new { title = "A", createdAt = "2000-01-01T00:00:00.000Z", updatedAt = "2000-01-01T00:00:00.000Z" });
        response.EnsureStatus(HttpStatusCode.Created);
        var obj = (await client.GetAsync($"classes/{cls}/{response.Json!["objectId"]}")).Json!;
        Assert.StartsWith(DateTime.UtcNow.Year.ToString(System.Globalization.CultureInfo.InvariantCulture), obj["createdAt"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(obj["createdAt"]!.GetValue<string>(), obj["updatedAt"]!.GetValue<string>());
    }

    [Fact]
    public async Task setting_a_field_to_null_unsets_it()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Obj");
        var id = await client.CreateAsync(cls, new { title = "A", notes = "x" });
        (await client.PutAsync($"classes/{cls}/{id}", new JsonObject { ["notes"] = null })).EnsureStatus(HttpStatusCode.OK);
        var obj = (await client.GetAsync($"classes/{cls}/{id}")).Json!.AsObject();
        Assert.False(obj.ContainsKey("notes"));
        Assert.Equal("A", obj["title"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("1abc")]
    [InlineData("_secret")]
    [InlineData("has-dash")]
    [InlineData("has space")]
    [InlineData("className")]
    public async Task invalid_field_names_are_105_and_nothing_is_stored(string key)
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Obj");
        await client.CreateAsync(cls, new { title = "first" });
        // "className" is an SDK artefact parse-server ignores; the others are invalid names.
        var response = await client.PostAsync($"classes/{cls}", new JsonObject { [key] = 1 });
        if (key == "className")
        {
            response.EnsureStatus(HttpStatusCode.Created);
            var obj = (await client.GetAsync($"classes/{cls}/{response.Json!["objectId"]}")).Json!.AsObject();
            Assert.False(obj.ContainsKey("className"));
            return;
        }
        response.EnsureError(105);
        Assert.Equal(1, await client.CountAsync(cls));
        var schema = (await client.GetAsync($"schemas/{cls}")).Json!;
        Assert.Null(schema["fields"]![key]);
    }

    [Fact]
    public async Task nested_keys_with_dollar_or_dot_are_121()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Obj");
        await client.CreateAsync(cls, new { title = "first" });
        (await client.PostAsync($"classes/{cls}", new JsonObject { ["meta"] = new JsonObject { ["$where"] = 1 } })).EnsureError(121);
        (await client.PostAsync($"classes/{cls}", new JsonObject { ["meta"] = new JsonObject { ["a.b"] = 1 } })).EnsureError(121);
        Assert.Equal(1, await client.CountAsync(cls));
    }

    [Fact]
    public async Task invalid_class_names_are_103()
    {
        using var client = Server.Client().AsMaster();
        (await client.PostAsync("classes/_Secret", new { a = 1 })).EnsureError(103);
        (await client.PostAsync("classes/9Lives", new { a = 1 })).EnsureError(103);
        (await client.GetAsync("classes/Bad-Name")).EnsureError(103);
    }

    [Fact]
    public async Task object_ids_that_are_not_alphanumeric_are_not_found_rather_than_errors()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Obj");
        await client.CreateAsync(cls, new { title = "first" });
        foreach (var id in new[] { "%27%20OR%201%3D1", "a%22b", new string('x', 300) })
        {
            (await client.GetAsync($"classes/{cls}/{id}")).EnsureError(101);
            (await client.PutAsync($"classes/{cls}/{id}", new { title = "x" })).EnsureError(101);
            (await client.DeleteAsync($"classes/{cls}/{id}")).EnsureError(101);
        }
        Assert.Equal(1, await client.CountAsync(cls));
    }

    [Fact]
    public async Task get_accepts_keys_include_and_excludeKeys_but_rejects_other_parameters_with_102()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Obj");
        var id = await client.CreateAsync(cls, new { title = "A", amount = 1, notes = "n" });

        var keys = (await client.GetAsync($"classes/{cls}/{id}?keys=title")).EnsureStatus(HttpStatusCode.OK).Json!.AsObject();
        Assert.Equal("A", keys["title"]!.GetValue<string>());
        Assert.False(keys.ContainsKey("amount"));
        Assert.True(keys.ContainsKey("createdAt"));

        var excluded = (await client.GetAsync($"classes/{cls}/{id}?excludeKeys=notes")).EnsureStatus(HttpStatusCode.OK).Json!.AsObject();
        Assert.False(excluded.ContainsKey("notes"));
        Assert.True(excluded.ContainsKey("amount"));

        (await client.GetAsync($"classes/{cls}/{id}?limit=1")).EnsureError(102);
    }

    [Fact]
    public async Task acl_is_stored_as_given_and_returned_on_fetch()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Obj");
        var acl = new JsonObject
        {
            ["*"] = new JsonObject { ["read"] = true },
            ["k3Jd9sP0aa"] = new JsonObject { ["read"] = true, ["write"] = true },
            ["role:Sales"] = new JsonObject { ["write"] = true },
        };
        var id = await client.CreateAsync(cls, new JsonObject { ["title"] = "A", ["ACL"] = acl.DeepClone() });
        var obj = (await client.GetAsync($"classes/{cls}/{id}")).Json!;
        Assert.True(JsonNode.DeepEquals(acl, obj["ACL"]), obj["ACL"]!.ToJsonString());
    }

    [Fact]
    public async Task malformed_acl_is_123_and_nothing_is_stored()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Obj");
        await client.CreateAsync(cls, new { title = "first" });
        (await client.PostAsync($"classes/{cls}", new JsonObject { ["ACL"] = "public" })).EnsureError(123);
        (await client.PostAsync($"classes/{cls}", new JsonObject { ["ACL"] = new JsonObject { ["*"] = new JsonObject { ["read"] = "yes" } } })).EnsureError(123);
        Assert.Equal(1, await client.CountAsync(cls));
    }

    [Fact]
    public async Task an_object_whose_acl_excludes_the_caller_is_not_found_for_get_update_and_delete()
    {
        using var owner = Server.Client();
        var (ownerId, _) = await owner.SignUpAsync(Wire.Unique("owner"));
        using var other = Server.Client();
        await other.SignUpAsync(Wire.Unique("other"));
        using var master = Server.Client().AsMaster();
        var cls = Wire.Unique("Obj");
        var id = await master.CreateAsync(cls, new JsonObject
        {
            ["title"] = "private",
            ["ACL"] = new JsonObject { [ownerId] = new JsonObject { ["read"] = true, ["write"] = true } },
        });

        (await owner.GetAsync($"classes/{cls}/{id}")).EnsureStatus(HttpStatusCode.OK);
        (await other.GetAsync($"classes/{cls}/{id}")).EnsureError(101);
        (await other.PutAsync($"classes/{cls}/{id}", new { title = "hacked" })).EnsureError(101);
        (await other.DeleteAsync($"classes/{cls}/{id}")).EnsureError(101);
        Assert.Equal("private", (await master.GetAsync($"classes/{cls}/{id}")).Json!["title"]!.GetValue<string>());
    }
}
