using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests;

/// <summary>Parallel writers over real HTTP: the store serialises writes, so read-modify-write operators never lose an update.</summary>
public sealed class ConcurrencyTests(CrmServerFixture fixture) : IClassFixture<CrmServerFixture>
{
    private CrmServer Server => fixture.Server;

    [Fact]
    public async Task increment_under_concurrency_gives_exact_total()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Conc");
        var id = await client.CreateAsync(cls, new { counter = 0 });

        var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ =>
            client.PutAsync($"classes/{cls}/{id}", new JsonObject { ["counter"] = new JsonObject { ["__op"] = "Increment", ["amount"] = 1 } })));

        Assert.All(responses, r => r.EnsureStatus(HttpStatusCode.OK));
        // Every echoed value is distinct: each increment saw the previous one's result.
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), responses.Select(r => r.Json!["counter"]!.GetValue<long>()).Order());
        Assert.Equal(100, (await client.GetAsync($"classes/{cls}/{id}")).Json!["counter"]!.GetValue<long>());
    }

    [Fact]
    public async Task add_unique_under_concurrency_keeps_every_value_once()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Conc");
        var id = await client.CreateAsync(cls, new { tags = Array.Empty<string>() });

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
            client.PutAsync($"classes/{cls}/{id}", new JsonObject { ["tags"] = Wire.Op("AddUnique", $"t{i % 25}") })));

        Assert.All(responses, r => r.EnsureStatus(HttpStatusCode.OK));
        var tags = (await client.GetAsync($"classes/{cls}/{id}")).Json!["tags"]!.AsArray().Select(t => t!.GetValue<string>()).ToList();
        Assert.Equal(Enumerable.Range(0, 25).Select(i => $"t{i}").Order(), tags.Order());
    }

    [Fact]
    public async Task parallel_creates_of_new_fields_in_a_new_class_all_succeed_with_one_schema()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Conc");

        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            client.PostAsync($"classes/{cls}", new JsonObject { ["shared"] = i, [$"f{i % 5}"] = "x" })));

        Assert.All(responses, r => r.EnsureStatus(HttpStatusCode.Created));
        Assert.Equal(40, await client.CountAsync(cls));
        var fields = (await client.GetAsync($"schemas/{cls}")).Json!["fields"]!.AsObject();
        Assert.Equal("Number", fields["shared"]!["type"]!.GetValue<string>());
        for (var i = 0; i < 5; i++) Assert.Equal("String", fields[$"f{i}"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task racing_writes_of_different_types_to_a_new_field_leave_one_type_and_no_mismatched_data()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Conc");
        await client.CreateAsync(cls, new { seed = 1 });

        var responses = await Task.WhenAll(Enumerable.Range(0, 30).Select(i =>
            client.PostAsync($"classes/{cls}", i % 2 == 0 ? new JsonObject { ["value"] = i } : new JsonObject { ["value"] = $"s{i}" })));

        Assert.All(responses, r => Assert.True(r.Status == HttpStatusCode.Created || r.Code == 111, r.Raw));
        var type = (await client.GetAsync($"schemas/{cls}")).Json!["fields"]!["value"]!["type"]!.GetValue<string>();
        var stored = (await client.QueryAsync(cls, new JsonObject { ["value"] = new JsonObject { ["$exists"] = true } })).Results;
        Assert.All(stored, o => Assert.Equal(type == "Number" ? System.Text.Json.JsonValueKind.Number : System.Text.Json.JsonValueKind.String, o!["value"]!.GetValueKind()));
        Assert.Equal(responses.Count(r => r.Status == HttpStatusCode.Created), stored.Count);
    }
}
