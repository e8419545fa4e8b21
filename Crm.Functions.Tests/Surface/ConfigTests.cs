using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Crm.Functions.Tests.Surface;

/// <summary>GET/PUT /config: Parse's global config, kept in the store (master-only class _GlobalConfig).</summary>
public sealed class ConfigTests
{
    private static JsonObject Put(JsonObject parameters, JsonObject? masterKeyOnly = null)
    {
        var body = new JsonObject { ["params"] = parameters };
        if (masterKeyOnly is not null) body["masterKeyOnly"] = masterKeyOnly;
        return body;
    }

    [Fact]
    public async Task an_empty_config_reads_as_empty_params()
    {
        using var server = new CrmServer();
        using var client = server.Client();
        var response = (await client.GetAsync("config")).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal("""{"params":{}}""", response.Json!.ToJsonString());
    }

    [Fact]
    public async Task the_master_key_writes_params_merged_per_key_and_deletes_with_the_delete_op()
    {
        using var server = new CrmServer();
        using var master = server.Client().AsMaster();
        var first = (await master.PutAsync("config", Put(new JsonObject
        {
            ["welcome"] = "hello",
            ["maxDiscount"] = 0.2,
            ["stages"] = new JsonArray("lead", "won"),
            ["launch"] = new JsonObject { ["__type"] = "Date", ["iso"] = "2030-01-02T03:04:05.000Z" },
        }))).EnsureStatus(HttpStatusCode.OK);
        Assert.True(first.Json!["result"]!.GetValue<bool>());

        (await master.PutAsync("config", Put(new JsonObject { ["maxDiscount"] = 0.25, ["welcome"] = new JsonObject { ["__op"] = "Delete" } })))
            .EnsureStatus(HttpStatusCode.OK);

        using var anyone = server.Client();
        var config = (await anyone.GetAsync("config")).EnsureStatus(HttpStatusCode.OK).Json!;
        var parameters = config["params"]!.AsObject();
        Assert.False(parameters.ContainsKey("welcome"));
        Assert.Equal(0.25, parameters["maxDiscount"]!.GetValue<double>());
        Assert.Equal(["lead", "won"], parameters["stages"]!.AsArray().Select(s => s!.GetValue<string>()));
        Assert.Equal("2030-01-02T03:04:05.000Z", parameters["launch"]!["iso"]!.GetValue<string>());
        Assert.Null(config["masterKeyOnly"]);
    }

    [Fact]
    public async Task master_key_only_params_are_hidden_from_every_other_caller()
    {
        using var server = new CrmServer();
        using var master = server.Client().AsMaster();
        (await master.PutAsync("config", Put(new JsonObject { ["public"] = 1, ["secret"] = "s3" }, new JsonObject { ["secret"] = true, ["public"] = false })))
            .EnsureStatus(HttpStatusCode.OK);

        var seenByMaster = (await master.GetAsync("config")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Equal("s3", seenByMaster["params"]!["secret"]!.GetValue<string>());
        Assert.True(seenByMaster["masterKeyOnly"]!["secret"]!.GetValue<bool>());

        var (user, _, _) = await server.UserAsync();
        using (user)
        {
            foreach (var client in new[] { server.Client(), user })
            {
                var seen = (await client.GetAsync("config")).EnsureStatus(HttpStatusCode.OK).Json!;
                Assert.Equal("""{"params":{"public":1}}""", seen.ToJsonString());
            }
        }

        // Clearing the flag makes it public; deleting the parameter removes its flag too.
        (await master.PutAsync("config", Put([], new JsonObject { ["secret"] = false }))).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal("s3", (await server.Client().GetAsync("config")).Json!["params"]!["secret"]!.GetValue<string>());
        (await master.PutAsync("config", Put(new JsonObject { ["secret"] = new JsonObject { ["__op"] = "Delete" } }))).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal("""{"params":{"public":1}}""", (await master.GetAsync("config")).Json!.ToJsonString());
    }

    [Fact]
    public async Task only_the_master_key_writes_and_the_config_class_is_closed_to_clients()
    {
        using var server = new CrmServer();
        var (user, _, _) = await server.UserAsync();
        using (user)
        {
            // Parse's answer to a master-only route without the master key: 403 with code 119.
            foreach (var refused in new[] { await user.PutAsync("config", Put(new JsonObject { ["x"] = 1 })), await server.Client().PutAsync("config", Put(new JsonObject { ["x"] = 1 })) })
            {
                refused.EnsureStatus(HttpStatusCode.Forbidden);
                Assert.Equal(119, refused.Code);
            }
            // Internal classes are not class names /classes accepts (as for _Subscription and _Presence).
            (await user.QueryAsync("_GlobalConfig")).EnsureError(103);
        }
        using var master = server.Client().AsMaster();
        (await master.QueryAsync("_GlobalConfig")).EnsureError(103);
        (await master.GetAsync("schemas/_GlobalConfig")).EnsureError(103);
        Assert.Equal("""{"params":{}}""", (await master.GetAsync("config")).Json!.ToJsonString());
    }

    [Theory]
    [InlineData("""{"params":[1]}""", 107)]
    [InlineData("""{"params":{"a":1},"masterKeyOnly":{"a":"yes"}}""", 107)]
    [InlineData("""{"params":{"$where":1}}""", 105)]
    [InlineData("""{"params":{"a.b":1}}""", 105)]
    [InlineData("""{"params":{"":1}}""", 105)]
    public async Task bad_config_writes_are_refused_and_store_nothing(string body, int code)
    {
        using var server = new CrmServer();
        using var master = server.Client().AsMaster();
        (await master.SendTextAsync(HttpMethod.Put, "config", body)).EnsureError(code);
        Assert.Equal("""{"params":{}}""", (await master.GetAsync("config")).Json!.ToJsonString());
    }

    [Fact]
    public async Task a_write_on_one_instance_reaches_another_when_its_cached_copy_expires()
    {
        var time = new AdjustableTime();
        using var writer = new CrmServer();
        using var reader = new CrmServer(new Dictionary<string, string?> { ["Parse:DataFolder"] = writer.DataFolder },
            services => services.AddSingleton<TimeProvider>(time));
        using var master = writer.Client().AsMaster();
        (await master.PutAsync("config", Put(new JsonObject { ["v"] = 1 }))).EnsureStatus(HttpStatusCode.OK);
        using var client = reader.Client();
        Assert.Equal(1, (await client.GetAsync("config")).Json!["params"]!["v"]!.GetValue<int>());

        (await master.PutAsync("config", Put(new JsonObject { ["v"] = 2 }))).EnsureStatus(HttpStatusCode.OK);
        // The writer's own cache is cleared by its write; the reader keeps its copy for at most the cache time.
        Assert.Equal(2, (await master.GetAsync("config")).Json!["params"]!["v"]!.GetValue<int>());
        Assert.Equal(1, (await client.GetAsync("config")).Json!["params"]!["v"]!.GetValue<int>());
        time.Offset = TimeSpan.FromSeconds(6);
        Assert.Equal(2, (await client.GetAsync("config")).Json!["params"]!["v"]!.GetValue<int>());
    }

    [Fact]
    public async Task concurrent_writers_of_different_keys_keep_every_key()
    {
        using var server = new CrmServer();
        using var master = server.Client().AsMaster();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async i =>
            (await master.PutAsync("config", Put(new JsonObject { [$"k{i}"] = i }))).EnsureStatus(HttpStatusCode.OK)));
        var parameters = (await master.GetAsync("config")).Json!["params"]!.AsObject();
        Assert.Equal(Enumerable.Range(0, 8).Select(i => $"k{i}"), parameters.Select(p => p.Key).Order());
    }
}

/// <summary>parse-server's GraphQL config fields: cloudConfig(paramName) and updateCloudConfig, master key only.</summary>
public sealed class GraphQLConfigTests
{
    [Fact]
    public async Task the_master_key_reads_and_sets_a_param_through_graphql_and_rest_sees_it()
    {
        using var server = new CrmServer();
        using var rest = server.Client().AsMaster();
        (await rest.PutAsync("config", new JsonObject { ["params"] = new JsonObject { ["limits"] = new JsonObject { ["max"] = 3 }, ["motd"] = "hi" } }))
            .EnsureStatus(HttpStatusCode.OK);
        using var master = new GraphQLClient(server).AsMaster();

        var read = (await master.SendAsync("""{ a: cloudConfig(paramName: "motd") { value isMasterKeyOnly } b: cloudConfig(paramName: "limits") { value } c: cloudConfig(paramName: "none") { value isMasterKeyOnly } }""")).Ok();
        Assert.Equal("hi", read["a"]!["value"]!.GetValue<string>());
        Assert.Null(read["a"]!["isMasterKeyOnly"]);
        Assert.Equal("""{"max":3}""", read["b"]!["value"]!.GetValue<string>());
        Assert.Null(read["c"]!["value"]);

        var updated = (await master.SendAsync("""mutation { updateCloudConfig(input: {paramName: "motd", value: "bye", isMasterKeyOnly: true, clientMutationId: "m1"}) { cloudConfig { value isMasterKeyOnly } clientMutationId } }""")).Ok();
        Assert.Equal("bye", updated["updateCloudConfig"]!["cloudConfig"]!["value"]!.GetValue<string>());
        Assert.True(updated["updateCloudConfig"]!["cloudConfig"]!["isMasterKeyOnly"]!.GetValue<bool>());
        Assert.Equal("m1", updated["updateCloudConfig"]!["clientMutationId"]!.GetValue<string>());

        Assert.Equal("""{"params":{"limits":{"max":3}}}""", (await server.Client().GetAsync("config")).Json!.ToJsonString());
        Assert.Equal("bye", (await rest.GetAsync("config")).Json!["params"]!["motd"]!.GetValue<string>());
    }

    [Fact]
    public async Task other_callers_get_119_from_the_graphql_config_fields()
    {
        using var server = new CrmServer();
        var (_, _, token) = await server.UserAsync();
        using var user = new GraphQLClient(server).WithSession(token);
        (await user.SendAsync("""{ cloudConfig(paramName: "x") { value } }""")).ParseError(119);
        (await user.SendAsync("""mutation { updateCloudConfig(input: {paramName: "x", value: "1"}) { cloudConfig { value } } }""")).ParseError(119);
        Assert.Equal("""{"params":{}}""", (await server.Client().AsMaster().GetAsync("config")).Json!.ToJsonString());
    }
}

/// <summary>serverInfo tells Parse Dashboard which screens work: the Config and Webhooks screens now do.</summary>
public sealed class ServerInfoFeatureTests(CrmServerFixture fixture) : IClassFixture<CrmServerFixture>
{
    [Fact]
    public async Task server_info_claims_the_global_config_and_nothing_unimplemented()
    {
        using var master = fixture.Server.Client().AsMaster();
        var features = (await master.GetAsync("serverInfo")).EnsureStatus(HttpStatusCode.OK).Json!["features"]!;
        Assert.Equal("""{"create":true,"read":true,"update":true,"delete":true}""", features["globalConfig"]!.ToJsonString());
        // Parse's /hooks is served (docs/webhooks.md): the dashboard's Webhooks page needs all four.
        Assert.Equal("""{"create":true,"read":true,"update":true,"delete":true}""", features["hooks"]!.ToJsonString());
        // Jobs, logs and push have no routes here: the dashboard must hide them rather than fail on them.
        Assert.False(features["cloudCode"]!["jobs"]!.GetValue<bool>());
        Assert.All(features["logs"]!.AsObject(), f => Assert.False(f.Value!.GetValue<bool>()));
        (await master.GetAsync("scriptlog")).EnsureStatus(HttpStatusCode.NotFound);
    }
}
