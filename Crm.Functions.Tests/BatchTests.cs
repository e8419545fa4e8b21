using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests;

public sealed class BatchTests(CrmServerFixture fixture) : IClassFixture<CrmServerFixture>
{
    private CrmServer Server => fixture.Server;

    private static JsonObject Request(string method, string path, JsonObject? body = null)
    {
        var request = new JsonObject { ["method"] = method, ["path"] = path };
        if (body is not null) request["body"] = body;
        return request;
    }

    private static JsonObject Batch(params JsonNode[] requests) => new() { ["requests"] = new JsonArray(requests) };

    [Fact]
    public async Task mixed_create_update_and_delete_answer_per_item_in_a_bare_array()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Bat");
        var toUpdate = await client.CreateAsync(cls, new { title = "old", amount = 1 });
        var toDelete = await client.CreateAsync(cls, new { title = "doomed" });

        var response = await client.PostAsync("batch", Batch(
            Request("POST", $"/parse/classes/{cls}", new JsonObject { ["title"] = "new" }),
            Request("PUT", $"/parse/classes/{cls}/{toUpdate}", new JsonObject { ["title"] = "updated", ["amount"] = new JsonObject { ["__op"] = "Increment", ["amount"] = 2 } }),
            Request("DELETE", $"/parse/classes/{cls}/{toDelete}"),
            Request("DELETE", $"/parse/classes/{cls}/zzzzzzzzzz"),
            Request("GET", $"/parse/classes/{cls}/{toUpdate}")));

        response.EnsureStatus(HttpStatusCode.OK);
        var items = response.Json!.AsArray();
        Assert.Equal(5, items.Count);
        var created = items[0]!["success"]!;
        Assert.Matches("^[A-Za-z0-9]{10}$", created["objectId"]!.GetValue<string>());
        Assert.NotNull(created["createdAt"]);
        Assert.NotNull(items[1]!["success"]!["updatedAt"]);
        Assert.Equal(3, items[1]!["success"]!["amount"]!.GetValue<int>());
        Assert.Empty(items[2]!["success"]!.AsObject());
        Assert.Equal(101, items[3]!["error"]!["code"]!.GetValue<int>());
        Assert.Equal("Object not found.", items[3]!["error"]!["error"]!.GetValue<string>());
        Assert.Equal("updated", items[4]!["success"]!["title"]!.GetValue<string>());

        Assert.Equal(["new", "updated"], (await client.QueryAsync(cls, null, "order=title")).Results.Select(r => r!["title"]!.GetValue<string>()));
    }

    [Fact]
    public async Task a_batch_is_200_even_when_every_item_fails()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Bat");
        var id = await client.CreateAsync(cls, new { amount = 1 });
        var response = await client.PostAsync("batch", Batch(
            Request("PUT", $"/parse/classes/{cls}/{id}", new JsonObject { ["amount"] = "text" }),
            Request("POST", $"/parse/classes/{cls}", new JsonObject { ["objectId"] = "abcdefghij" })));
        response.EnsureStatus(HttpStatusCode.OK);
        Assert.Equal([111, 105], response.Json!.AsArray().Select(i => i!["error"]!["code"]!.GetValue<int>()));
        Assert.Equal(1, await client.CountAsync(cls));
    }

    [Fact]
    public async Task paths_may_be_full_urls_as_android_sends_them()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Bat");
        var response = await client.PostAsync("batch", Batch(Request("POST", $"{Server.ParseUrl}/classes/{cls}", new JsonObject { ["title"] = "android" })));
        response.EnsureStatus(HttpStatusCode.OK);
        Assert.NotNull(response.Json![0]!["success"]!["objectId"]);
        Assert.Equal(1, await client.CountAsync(cls));
    }

    [Fact]
    public async Task a_path_without_the_mount_path_fails_the_whole_batch_with_107_before_anything_runs()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Bat");
        await client.CreateAsync(cls, new { title = "seed" });
        var response = await client.PostAsync("batch", Batch(
            Request("POST", $"/parse/classes/{cls}", new JsonObject { ["title"] = "would be created" }),
            Request("POST", $"/classes/{cls}", new JsonObject { ["title"] = "no mount path" })));
        response.EnsureError(107);
        Assert.Contains("cannot route batch path", response.Json!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(1, await client.CountAsync(cls));
    }

    [Fact]
    public async Task more_than_fifty_requests_is_an_error_and_nothing_runs()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Bat");
        await client.CreateAsync(cls, new { title = "seed" });
        var requests = Enumerable.Range(0, 51).Select(i => (JsonNode)Request("POST", $"/parse/classes/{cls}", new JsonObject { ["n"] = i })).ToArray();
        var response = await client.PostAsync("batch", Batch(requests));
        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.NotNull(response.Code);
        Assert.Equal(1, await client.CountAsync(cls));

        var fifty = Enumerable.Range(0, 50).Select(i => (JsonNode)Request("POST", $"/parse/classes/{cls}", new JsonObject { ["n"] = i })).ToArray();
        (await client.PostAsync("batch", Batch(fifty))).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal(51, await client.CountAsync(cls));
    }

    [Fact]
    public async Task requests_that_are_not_an_array_are_107()
    {
        using var client = Server.Client().AsMaster();
        (await client.PostAsync("batch", new JsonObject { ["requests"] = "nope" })).EnsureError(107);
        (await client.PostAsync("batch", new JsonObject())).EnsureError(107);
        (await client.PostAsync("batch", Batch(new JsonObject { ["method"] = "POST" }))).EnsureError(107);
        (await client.PostAsync("batch", Batch("not an object"))).EnsureError(107);
    }

    [Fact]
    public async Task sub_requests_run_with_the_outer_callers_credentials()
    {
        using var master = Server.Client().AsMaster();
        var cls = Wire.Unique("Bat");
        var hidden = await master.CreateAsync(cls, new JsonObject { ["title"] = "hidden", ["ACL"] = new JsonObject() });

        using var user = Server.Client();
        await user.SignUpAsync(Wire.Unique("bat"));
        var response = await user.PostAsync("batch", Batch(
            Request("PUT", $"/parse/classes/{cls}/{hidden}", new JsonObject { ["title"] = "hacked" }),
            Request("GET", "/parse/schemas"),
            Request("POST", $"/parse/classes/{cls}", new JsonObject { ["title"] = "mine", ["_SessionToken"] = "ignored" })));
        response.EnsureStatus(HttpStatusCode.OK);
        var items = response.Json!.AsArray();
        Assert.Equal(101, items[0]!["error"]!["code"]!.GetValue<int>());
        Assert.NotNull(items[1]!["error"]);
        // A sub-request cannot carry its own credentials: an envelope key inside it is just an invalid field name.
        Assert.Equal(105, items[2]!["error"]!["code"]!.GetValue<int>());
        Assert.Equal("hidden", (await master.GetAsync($"classes/{cls}/{hidden}")).Json!["title"]!.GetValue<string>());
    }

    [Fact]
    public async Task batch_sub_requests_may_carry_query_parameters_in_the_path()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Bat");
        await client.CreateAsync(cls, new { n = 1 });
        await client.CreateAsync(cls, new { n = 2 });
        var where = Uri.EscapeDataString("""{"n":2}""");
        var response = await client.PostAsync("batch", Batch(Request("GET", $"/parse/classes/{cls}?where={where}")));
        var results = response.EnsureStatus(HttpStatusCode.OK).Json![0]!["success"]!["results"]!.AsArray();
        Assert.Equal(2, results.Single()!["n"]!.GetValue<int>());
    }

    [Fact]
    public async Task a_nested_batch_is_refused()
    {
        using var client = Server.Client().AsMaster();
        (await client.PostAsync("batch", Batch(Request("POST", "/parse/batch", Batch())))).EnsureError(107);
    }
}
