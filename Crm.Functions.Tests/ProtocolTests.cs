using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests;

/// <summary>Headers, the JS SDK body envelope, and the error contract: always a Parse JSON error, never a 500.</summary>
public sealed class ProtocolTests(CrmServerFixture fixture) : IClassFixture<CrmServerFixture>
{
    private CrmServer Server => fixture.Server;

    private static void AssertUnauthorized(ParseResponse response, string message = "unauthorized")
    {
        response.EnsureStatus(HttpStatusCode.Forbidden);
        var body = response.Json!.AsObject();
        Assert.Equal(message, body["error"]!.GetValue<string>());
        // Parse's message, with code 119 so every error body has the same {code, error} shape.
        Assert.Equal(119, body["code"]!.GetValue<int>());
    }

    // ---- headers -------------------------------------------------------------------------------------

    [Fact]
    public async Task a_request_without_application_id_is_403_unauthorized()
    {
        using var client = Server.Client();
        AssertUnauthorized(await client.SendAsync(HttpMethod.Get, "classes/Anything", appId: false));
        AssertUnauthorized(await client.SendAsync(HttpMethod.Post, "classes/Anything", new { a = 1 }, appId: false));
    }

    [Fact]
    public async Task a_wrong_application_id_is_403_unauthorized_even_with_the_master_key()
    {
        using var client = Server.Client().AsMaster();
        var headers = new Dictionary<string, string> { ["X-Parse-Application-Id"] = "not-crm" };
        AssertUnauthorized(await client.SendAsync(HttpMethod.Get, "classes/Anything", headers: headers, appId: false));
    }

    [Fact]
    public async Task header_names_are_case_insensitive()
    {
        using var client = Server.Client();
        var headers = new Dictionary<string, string> { ["x-parse-application-id"] = CrmServer.AppId, ["X-PARSE-MASTER-KEY"] = CrmServer.MasterKey };
        var response = await client.SendAsync(HttpMethod.Get, "schemas", headers: headers, appId: false);
        response.EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task the_master_key_header_grants_master_access()
    {
        using var master = Server.Client().AsMaster();
        (await master.GetAsync("schemas")).EnsureStatus(HttpStatusCode.OK);
        // Master may create a class that does not exist yet; a plain client may not (allowClientClassCreation is off).
        var cls = Wire.Unique("Proto");
        using var anonymous = Server.Client();
        (await anonymous.PostAsync($"classes/{cls}", new { a = 1 })).EnsureError(119);
        (await master.PostAsync($"classes/{cls}", new { a = 1 })).EnsureStatus(HttpStatusCode.Created);
    }

    [Fact]
    public async Task a_wrong_master_key_is_silently_treated_as_no_master_key()
    {
        using var client = Server.Client();
        var headers = new Dictionary<string, string> { ["X-Parse-Master-Key"] = "wrong-master-key-0000" };
        var cls = Wire.Unique("Proto");
        // Not a 403 for the key: the request simply runs as a normal client.
        (await client.SendAsync(HttpMethod.Post, $"classes/{cls}", new { a = 1 }, headers)).EnsureError(119);
        AssertUnauthorized(await client.SendAsync(HttpMethod.Get, "schemas", headers: headers), "unauthorized: master key is required");

        using var master = Server.Client().AsMaster();
        await master.CreateAsync(cls, new { a = 1 });
        var find = await client.SendAsync(HttpMethod.Get, $"classes/{cls}", headers: headers);
        find.EnsureStatus(HttpStatusCode.OK);
        Assert.Single(find.Results);
    }

    [Fact]
    public async Task http_basic_credentials_carry_the_application_id_and_master_key()
    {
        using var client = Server.Client();
        var master = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{CrmServer.AppId}:{CrmServer.MasterKey}"));
        (await client.SendAsync(HttpMethod.Get, "schemas", headers: new Dictionary<string, string> { ["Authorization"] = "Basic " + master }, appId: false))
            .EnsureStatus(HttpStatusCode.OK);
        var jsKey = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{CrmServer.AppId}:javascript-key=abc"));
        AssertUnauthorized(await client.SendAsync(HttpMethod.Get, "schemas", headers: new Dictionary<string, string> { ["Authorization"] = "Basic " + jsKey }, appId: false),
            "unauthorized: master key is required");
        var wrongApp = Convert.ToBase64String(Encoding.UTF8.GetBytes($"other:{CrmServer.MasterKey}"));
        AssertUnauthorized(await client.SendAsync(HttpMethod.Get, "schemas", headers: new Dictionary<string, string> { ["Authorization"] = "Basic " + wrongApp }, appId: false));
    }

    [Fact]
    public async Task a_configured_client_key_is_required_from_non_master_callers()
    {
        using var server = new CrmServer(new Dictionary<string, string?> { ["Parse:RestApiKey"] = "rest-key", ["Parse:JavaScriptKey"] = "js-key" });
        using var master = server.Client().AsMaster();
        var cls = Wire.Unique("Proto");
        await master.CreateAsync(cls, new { a = 1 });
        using var client = server.Client();
        AssertUnauthorized(await client.GetAsync($"classes/{cls}"));
        AssertUnauthorized(await client.SendAsync(HttpMethod.Get, $"classes/{cls}", headers: new Dictionary<string, string> { ["X-Parse-REST-API-Key"] = "wrong" }));
        (await client.SendAsync(HttpMethod.Get, $"classes/{cls}", headers: new Dictionary<string, string> { ["X-Parse-REST-API-Key"] = "rest-key" })).EnsureStatus(HttpStatusCode.OK);
        var envelope = new JsonObject { ["_method"] = "GET", ["_ApplicationId"] = CrmServer.AppId, ["_JavaScriptKey"] = "js-key" };
        (await client.SendTextAsync(HttpMethod.Post, $"classes/{cls}", envelope.ToJsonString(), "text/plain", appId: false)).EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task an_invalid_session_token_is_209()
    {
        using var client = Server.Client().WithSession("r:00000000000000000000000000000000");
        (await client.GetAsync("classes/Anything")).EnsureError(209);
    }

    [Fact]
    public async Task responses_are_json_even_for_unknown_routes()
    {
        using var client = Server.Client();
        var response = await client.GetAsync("no/such/route");
        Assert.Equal(HttpStatusCode.NotFound, response.Status);
        Assert.Equal("application/json", response.ContentType!.MediaType);
        Assert.NotNull(response.Json!["code"]);
        Assert.NotNull(response.Json["error"]);
    }

    // ---- the JS SDK envelope -------------------------------------------------------------------------

    [Fact]
    public async Task js_sdk_text_plain_post_with_envelope_creates_and_strips_every_envelope_key()
    {
        using var client = Server.Client();
        using var master = Server.Client().AsMaster();
        var cls = Wire.Unique("Env");
        await master.CreateAsync(cls, new { title = "seed" });

        var body = new JsonObject
        {
            ["title"] = "from js",
            ["_ApplicationId"] = CrmServer.AppId,
            ["_ClientVersion"] = "js5.3.0",
            ["_InstallationId"] = "3f1c0000-0000-0000-0000-000000000000",
            ["_JavaScriptKey"] = "jsk",
            ["_RevocableSession"] = "1",
        };
        var created = await client.SendTextAsync(HttpMethod.Post, $"classes/{cls}", body.ToJsonString(), "text/plain", appId: false);
        created.EnsureStatus(HttpStatusCode.Created);

        var obj = (await master.GetAsync($"classes/{cls}/{created.Json!["objectId"]}")).EnsureStatus(HttpStatusCode.OK).Json!.AsObject();
        Assert.Equal("from js", obj["title"]!.GetValue<string>());
        Assert.DoesNotContain(obj, kv => kv.Key.StartsWith('_'));
        var fields = (await master.GetAsync($"schemas/{cls}")).Json!["fields"]!.AsObject();
        Assert.DoesNotContain(fields, kv => kv.Key.StartsWith('_'));
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/octet-stream")]
    [InlineData("application/json; charset=utf-8")]
    public async Task any_content_type_is_parsed_as_json(string contentType)
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Env");
        var created = await client.SendTextAsync(HttpMethod.Post, $"classes/{cls}", """{"title":"typed","n":1}""", contentType);
        created.EnsureStatus(HttpStatusCode.Created);
        var obj = (await client.GetAsync($"classes/{cls}/{created.Json!["objectId"]}")).Json!;
        Assert.Equal("typed", obj["title"]!.GetValue<string>());
        Assert.Equal(1, obj["n"]!.GetValue<int>());
    }

    [Fact]
    public async Task js_sdk_method_override_runs_a_get_query_with_the_body_as_parameters()
    {
        using var client = Server.Client();
        using var master = Server.Client().AsMaster();
        var cls = Wire.Unique("Env");
        await master.CreateAsync(cls, new { stage = "won", amount = 3 });
        await master.CreateAsync(cls, new { stage = "won", amount = 7 });
        await master.CreateAsync(cls, new { stage = "lost", amount = 5 });

        var body = new JsonObject
        {
            ["where"] = new JsonObject { ["stage"] = "won" },
            ["order"] = "-amount",
            ["limit"] = 10,
            ["_method"] = "GET",
            ["_ApplicationId"] = CrmServer.AppId,
            ["_ClientVersion"] = "js5.3.0",
            ["_InstallationId"] = "abc",
        };
        var response = await client.SendTextAsync(HttpMethod.Post, $"classes/{cls}", body.ToJsonString(), "text/plain", appId: false);
        response.EnsureStatus(HttpStatusCode.OK);
        Assert.Equal([7, 3], response.Results.Select(r => r!["amount"]!.GetValue<int>()));
    }

    [Fact]
    public async Task js_sdk_envelope_carries_the_master_key_and_session_token()
    {
        using var client = Server.Client();
        var body = new JsonObject { ["_method"] = "GET", ["_ApplicationId"] = CrmServer.AppId, ["_MasterKey"] = CrmServer.MasterKey };
        (await client.SendTextAsync(HttpMethod.Post, "schemas", body.ToJsonString(), "text/plain", appId: false)).EnsureStatus(HttpStatusCode.OK);

        using var user = Server.Client();
        var (userId, token) = await user.SignUpAsync(Wire.Unique("env"));
        var me = new JsonObject { ["_method"] = "GET", ["_ApplicationId"] = CrmServer.AppId, ["_SessionToken"] = token };
        var response = await client.SendTextAsync(HttpMethod.Post, "users/me", me.ToJsonString(), "text/plain", appId: false);
        response.EnsureStatus(HttpStatusCode.OK);
        Assert.Equal(userId, response.Json!["objectId"]!.GetValue<string>());
    }

    [Fact]
    public async Task js_sdk_method_override_put_and_delete_work_and_envelope_keys_are_not_stored_on_update()
    {
        using var client = Server.Client();
        using var master = Server.Client().AsMaster();
        var cls = Wire.Unique("Env");
        var id = await master.CreateAsync(cls, new { title = "A" });

        var put = new JsonObject
        {
            ["title"] = "B", ["_method"] = "PUT", ["_ApplicationId"] = CrmServer.AppId, ["_ClientVersion"] = "js5.3.0",
            ["_InstallationId"] = "abc", ["_SessionToken"] = null,
        };
        (await client.SendTextAsync(HttpMethod.Post, $"classes/{cls}/{id}", put.ToJsonString(), "text/plain", appId: false)).EnsureStatus(HttpStatusCode.OK);
        var obj = (await master.GetAsync($"classes/{cls}/{id}")).Json!.AsObject();
        Assert.Equal("B", obj["title"]!.GetValue<string>());
        Assert.DoesNotContain(obj, kv => kv.Key.StartsWith('_'));

        var delete = new JsonObject { ["_method"] = "DELETE", ["_ApplicationId"] = CrmServer.AppId };
        (await client.SendTextAsync(HttpMethod.Post, $"classes/{cls}/{id}", delete.ToJsonString(), "text/plain", appId: false)).EnsureStatus(HttpStatusCode.OK);
        (await master.GetAsync($"classes/{cls}/{id}")).EnsureError(101);
    }

    [Fact]
    public async Task android_style_post_with_where_as_a_json_string_and_limit_as_a_string()
    {
        using var client = Server.Client();
        using var master = Server.Client().AsMaster();
        var cls = Wire.Unique("Env");
        for (var i = 0; i < 5; i++) await master.CreateAsync(cls, new { n = i, stage = i % 2 == 0 ? "even" : "odd" });

        var body = new JsonObject
        {
            ["where"] = """{"stage":"even"}""",
            ["limit"] = "2",
            ["order"] = "n",
            ["_method"] = "GET",
        };
        var response = await client.SendAsync(HttpMethod.Post, $"classes/{cls}", body);
        response.EnsureStatus(HttpStatusCode.OK);
        Assert.Equal([0, 2], response.Results.Select(r => r!["n"]!.GetValue<int>()));
    }

    [Fact]
    public async Task an_unsupported_method_override_is_107()
    {
        using var client = Server.Client();
        var body = new JsonObject { ["_method"] = "PATCH", ["_ApplicationId"] = CrmServer.AppId };
        (await client.SendTextAsync(HttpMethod.Post, "classes/Anything", body.ToJsonString(), "text/plain", appId: false)).EnsureError(107);
    }

    // ---- errors --------------------------------------------------------------------------------------

    [Theory]
    [InlineData("{\"title\": ")]
    [InlineData("{title: 1}")]
    [InlineData("not json")]
    [InlineData("[1,2,3]")]
    [InlineData("\"a string\"")]
    public async Task a_malformed_json_body_is_107_and_nothing_is_stored(string text)
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Err");
        await client.CreateAsync(cls, new { title = "seed" });
        (await client.SendTextAsync(HttpMethod.Post, $"classes/{cls}", text)).EnsureError(107);
        Assert.Equal(1, await client.CountAsync(cls));
    }

    [Fact]
    public async Task a_body_with_a_duplicate_key_is_a_parse_error_not_a_500()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Err");
        await client.CreateAsync(cls, new { title = "seed" });
        var response = await client.SendTextAsync(HttpMethod.Post, $"classes/{cls}", """{"title":"a","title":"b"}""");
        response.EnsureError(107);
        Assert.Equal(1, await client.CountAsync(cls));
        (await client.GetAsync($"classes/{cls}?where=" + Uri.EscapeDataString("""{"title":"a","title":"b"}"""))).EnsureError(107);
    }

    [Fact]
    public async Task a_ten_thousand_deep_json_body_is_107_and_nothing_is_stored()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Err");
        await client.CreateAsync(cls, new { title = "seed" });
        var deep = new StringBuilder("{\"a\":");
        for (var i = 0; i < 10_000; i++) deep.Append("{\"a\":");
        deep.Append('1').Append('}', 10_001);
        (await client.SendTextAsync(HttpMethod.Post, $"classes/{cls}", deep.ToString())).EnsureError(107);
        Assert.Equal(1, await client.CountAsync(cls));
    }

    [Fact]
    public async Task a_deeply_nested_object_value_within_the_json_limit_is_stored_or_refused_cleanly()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Err");
        JsonNode value = 1;
        for (var i = 0; i < 40; i++) value = new JsonObject { ["a"] = value };
        var response = await client.PostAsync($"classes/{cls}", new JsonObject { ["deep"] = value });
        response.EnsureStatus(HttpStatusCode.Created);
        var obj = (await client.GetAsync($"classes/{cls}/{response.Json!["objectId"]}")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.True(JsonNode.DeepEquals(value, obj["deep"]));
    }

    [Fact]
    public async Task a_ten_thousand_deep_where_is_a_parse_error()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Err");
        await client.CreateAsync(cls, new { title = "seed" });
        var deep = new StringBuilder();
        for (var i = 0; i < 10_000; i++) deep.Append("{\"$or\":[");
        deep.Append("{\"title\":\"seed\"}");
        for (var i = 0; i < 10_000; i++) deep.Append("]}");

        var viaBody = await client.SendTextAsync(HttpMethod.Post, $"classes/{cls}", $"{{\"_method\":\"GET\",\"where\":{deep}}}");
        viaBody.EnsureError(107);
        var viaString = await client.SendAsync(HttpMethod.Post, $"classes/{cls}", new JsonObject { ["_method"] = "GET", ["where"] = deep.ToString() });
        Assert.True(viaString.Code is 102 or 107, viaString.Raw);
        Assert.Equal(HttpStatusCode.BadRequest, viaString.Status);
    }

    [Fact]
    public async Task a_where_nested_beyond_the_query_depth_limit_is_102()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Err");
        await client.CreateAsync(cls, new { title = "seed" });
        JsonNode where = new JsonObject { ["title"] = "seed" };
        for (var i = 0; i < 30; i++) where = new JsonObject { ["$and"] = new JsonArray(where) };
        (await client.QueryAsync(cls, where)).EnsureError(102);
        JsonNode shallow = new JsonObject { ["title"] = "seed" };
        for (var i = 0; i < 5; i++) shallow = new JsonObject { ["$and"] = new JsonArray(shallow) };
        Assert.Single((await client.QueryAsync(cls, shallow)).EnsureStatus(HttpStatusCode.OK).Results);
    }

    [Fact]
    public async Task malformed_where_json_in_the_query_string_is_107()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Err");
        await client.CreateAsync(cls, new { title = "seed" });
        (await client.GetAsync($"classes/{cls}?where=%7Bnot-json")).EnsureError(107);
        (await client.GetAsync($"classes/{cls}?where=%5B1%5D")).EnsureError(107);
    }

    [Theory]
    [InlineData("limit=-1", 102)]
    [InlineData("limit=abc", 102)]
    [InlineData("skip=-5", 102)]
    [InlineData("skip=abc", 102)]
    [InlineData("order=bad-name", 105)]
    [InlineData("unknownParam=1", 102)]
    [InlineData("keys=%7B%7D", 102)]
    public async Task bad_query_parameters_are_parse_errors(string query, int code)
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Err");
        await client.CreateAsync(cls, new { title = "seed" });
        (await client.GetAsync($"classes/{cls}?{query}")).EnsureError(code);
    }

    public static TheoryData<string> HostileWheres() =>
    [
        """{"$or":[1]}""", """{"$or":[null]}""", """{"$and":"x"}""", """{"$nor":{}}""",
        """{"$relatedTo":1}""", """{"$relatedTo":{"object":1,"key":"x"}}""", """{"$relatedTo":{"object":{"__type":"Pointer","className":"X","objectId":"a"},"key":"_rperm"}}""",
        """{"a":{"$in":[{"$gt":1}]}}""", """{"a":{"$select":1}}""", """{"a":{"$inQuery":{"className":"_Bad","where":{}}}}""",
        """{"a":{"$inQuery":{"className":"Nope","where":5}}}""", """{"a":{"$regex":"(a+)+$"}}""", """{"a":{"$regex":5}}""",
        """{"a":{"$all":[[1]]}}""", """{"a":{"$containedBy":[{"x":1}]}}""", """{"a.b.c.d.e.f.g.h.i":1}""", """{"":1}""",
        """{"a":{"$exists":true,"$regex":"x"}}""", """{"objectId":{"$in":[1,null]}}""", """{"createdAt":{"$in":["x"]}}""",
        """{"createdAt":{"$gt":"not a date"}}""", """{"a":{"$eq":{"__type":"Bytes","base64":"x"}}}""", """{"a":{"__type":"GeoPoint"}}""",
        """{"a":{"$nin":{}}}""", """{"a":{"$text":{}}}""", """{"a":{"$nearSphere":{}}}""", """{"a":{"$lt":{"$relativeTime":"sometime"}}}""",
        """{"a":{"$lt":{"$relativeTime":"in 99999999999 years"}}}""", """{"a":{"$gt":{"$relativeTime":"99999999999 years ago"}}}""",
        """{"a":{"$lt":1e308}}""", """{"a":{"$lt":-1e308}}""", """{"a":{"$in":[1e308,-0.0,"\u0000"]}}""", """{"a":"\u0000'; DROP TABLE x; --"}""",
        """{"a":{"$options":"i"}}""", """{"a":{"$regex":"x","$options":5}}""", """{"a":{"$select":{"query":{"className":"X","where":{}},"key":"bad key"}}}""",
        """{"a":{"$dontSelect":{"query":{"className":"X"},"key":"k","extra":1}}}""", """{"objectId":{"$regex":"^a"}}""", """{"updatedAt":{"$exists":false}}""",
        """{"a":{"__type":"Date","iso":"2024-13-45"}}""", """{"a":{"__op":"Increment"}}""", """[]""", """5""", "\"str\"",
        """{"a":{"$regex":"x # comment","$options":"x"}}""", """{"a":{"$regex":"^x$","$options":"ms"}}""", """{"a":{"$regex":"(?=x)x(?<!y)"}}""",
        """{"a":{"$regex":"(\\w)\\1"}}""", """{"a":{"$regex":"\\Qunterminated"}}""", """{"a":{"$regex":"[z-a]"}}""",
    ];

    [Theory]
    [MemberData(nameof(HostileWheres))]
    public async Task hostile_where_values_never_cause_a_server_error(string where)
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Err");
        await client.CreateAsync(cls, new { a = "x", title = "seed" });
        using var anonymous = Server.Client();
        foreach (var caller in new[] { client, anonymous })
        {
            var response = await caller.GetAsync($"classes/{cls}?where={Uri.EscapeDataString(where)}");
            Assert.True(response.Status is HttpStatusCode.OK or HttpStatusCode.BadRequest, $"{where}: HTTP {(int)response.Status} {response.Raw}");
            if (response.Status == HttpStatusCode.BadRequest) Assert.NotNull(response.Code);
        }
        Assert.Equal(1, await client.CountAsync(cls));
    }

    public static TheoryData<string> HostileWrites() =>
    [
        """{"a":{"__op":"Add","objects":[{"__op":"Delete"}]}}""", """{"a":{"__op":"Batch","ops":"x"}}""",
        """{"a":{"__op":"Batch","ops":[{"__op":"AddRelation","objects":[1]}]}}""", """{"a":{"__op":"Batch","ops":[{"__op":"Increment","amount":1}]}}""",
        """{"a":{"__op":"AddRelation","objects":[]}}""", """{"a":{"__op":"AddRelation","objects":[{"__type":"Pointer","className":"X","objectId":"bad id!"}]}}""",
        """{"a.b":{"__op":"AddRelation","objects":[{"__type":"Pointer","className":"X","objectId":"abc"}]}}""",
        """{"ACL":{"*":{"read":true,"delete":true}}}""", """{"ACL":{"bad key!":{"read":true}}}""", """{"ACL":null}""", """{"ACL":[]}""",
        """{"a..b":1}""", """{"a.$b":1}""", """{"a.b.c.d.e.f.g.h.i.j":1}""", """{"a":{"__proto__":1}}""", """{"__proto__":1}""", """{"constructor":{}}""",
        """{"a":1e400}""", """{"a":[1e400]}""", """{"a":{"__op":"Increment","amount":1e400}}""", """{"a":{"__op":"SetOnInsert","amount":{"__op":"Delete"}}}""",
        """{"a":{"__op":5}}""", """{"a":{"__op":null}}""", """{"a":{"__op":"Add"}}""", """{"a":{"__op":"Remove","objects":{}}}""",
        """{"a":{"__type":"Relation","className":"X"}}""", """{"a":{"__type":"Object","className":"X"}}""", """{"\u0000":1}""", """{"a\u0000":1}""",
        """{"amount":{"__op":"Increment","amount":1},"amount.x":1}""",
    ];

    [Theory]
    [MemberData(nameof(HostileWrites))]
    public async Task hostile_write_bodies_are_parse_errors_and_store_nothing(string body)
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Err");
        var id = await client.CreateAsync(cls, new { amount = 1, title = "seed" });
        var before = (await client.GetAsync($"classes/{cls}/{id}")).Json!;
        foreach (var response in new[]
        {
            await client.SendTextAsync(HttpMethod.Post, $"classes/{cls}", body),
            await client.SendTextAsync(HttpMethod.Put, $"classes/{cls}/{id}", body),
        })
        {
            Assert.True(response.Status == HttpStatusCode.BadRequest && response.Code is not null, $"{body}: HTTP {(int)response.Status} {response.Raw}");
        }
        Assert.Equal(1, await client.CountAsync(cls));
        Assert.True(JsonNode.DeepEquals(before, (await client.GetAsync($"classes/{cls}/{id}")).Json), "the object must not change");
    }

    [Fact]
    public async Task an_increment_that_overflows_a_double_is_a_parse_error_and_changes_nothing()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Err");
        var id = await client.CreateAsync(cls, new { amount = 1e308 });
        var response = await client.PutAsync($"classes/{cls}/{id}", new JsonObject { ["amount"] = new JsonObject { ["__op"] = "Increment", ["amount"] = 1e308 } });
        Assert.True(response.Status == HttpStatusCode.BadRequest && response.Code is not null, response.Raw);
        Assert.Equal(1e308, (await client.GetAsync($"classes/{cls}/{id}")).EnsureStatus(HttpStatusCode.OK).Json!["amount"]!.GetValue<double>());
        var created = await client.PostAsync($"classes/{cls}", new JsonObject { ["amount"] = new JsonObject { ["__op"] = "Increment", ["amount"] = 1e308 } });
        created.EnsureStatus(HttpStatusCode.Created);
    }

    [Fact]
    public async Task a_huge_limit_is_clamped_not_an_error()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Err");
        await client.CreateAsync(cls, new { title = "seed" });
        foreach (var limit in new[] { "99999999999999999999", "1e300", "2147483648" })
            Assert.Single((await client.GetAsync($"classes/{cls}?limit={limit}")).EnsureStatus(HttpStatusCode.OK).Results);
    }

    [Fact]
    public async Task unknown_query_operator_is_107_and_unknown_update_operator_is_108()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Err");
        var id = await client.CreateAsync(cls, new { title = "seed", amount = 1 });
        var query = await client.QueryAsync(cls, new JsonObject { ["amount"] = new JsonObject { ["$where"] = "sleep(1000)" } });
        query.EnsureError(107);

        var update = await client.PutAsync($"classes/{cls}/{id}", new JsonObject { ["amount"] = new JsonObject { ["__op"] = "Multiply", ["amount"] = 2 } });
        update.EnsureError(108);
        Assert.Equal(1, (await client.GetAsync($"classes/{cls}/{id}")).Json!["amount"]!.GetValue<int>());
        (await client.PostAsync($"classes/{cls}", new JsonObject { ["amount"] = new JsonObject { ["__op"] = "Multiply" } })).EnsureError(108);
        Assert.Equal(1, await client.CountAsync(cls));
    }

    [Fact]
    public async Task in_with_more_values_than_the_limit_is_a_parse_error()
    {
        using var server = new CrmServer(new Dictionary<string, string?> { ["Parse:Limits:MaxInValues"] = "10", ["Parse:Limits:MaxOrBranches"] = "3" });
        using var client = server.Client().AsMaster();
        var cls = Wire.Unique("Err");
        await client.CreateAsync(cls, new { n = 1 });

        var ok = new JsonObject { ["n"] = new JsonObject { ["$in"] = new JsonArray([.. Enumerable.Range(0, 10).Select(i => (JsonNode)i)]) } };
        Assert.Single((await client.QueryAsync(cls, ok)).EnsureStatus(HttpStatusCode.OK).Results);
        var tooMany = new JsonObject { ["n"] = new JsonObject { ["$in"] = new JsonArray([.. Enumerable.Range(0, 11).Select(i => (JsonNode)i)]) } };
        (await client.QueryAsync(cls, tooMany)).EnsureError(102);
        var ninTooMany = new JsonObject { ["n"] = new JsonObject { ["$nin"] = new JsonArray([.. Enumerable.Range(0, 11).Select(i => (JsonNode)i)]) } };
        (await client.QueryAsync(cls, ninTooMany)).EnsureError(102);

        var orOk = new JsonObject { ["$or"] = new JsonArray(new JsonObject { ["n"] = 1 }, new JsonObject { ["n"] = 2 }, new JsonObject { ["n"] = 3 }) };
        Assert.Single((await client.QueryAsync(cls, orOk)).EnsureStatus(HttpStatusCode.OK).Results);
        var orTooMany = new JsonObject { ["$or"] = new JsonArray([.. Enumerable.Range(0, 4).Select(i => (JsonNode)new JsonObject { ["n"] = i })]) };
        (await client.QueryAsync(cls, orTooMany)).EnsureError(102);
    }

    [Fact]
    public async Task a_number_too_large_for_a_double_is_a_parse_error_and_nothing_is_stored()
    {
        using var client = Server.Client().AsMaster();
        var cls = Wire.Unique("Err");
        await client.CreateAsync(cls, new { amount = 1 });
        var response = await client.SendTextAsync(HttpMethod.Post, $"classes/{cls}", """{"amount":1e400}""");
        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.NotNull(response.Code);
        Assert.Equal(1, await client.CountAsync(cls));

        var query = await client.GetAsync($"classes/{cls}?where=" + Uri.EscapeDataString("""{"amount":{"$gt":1e400}}"""));
        Assert.Equal(HttpStatusCode.BadRequest, query.Status);
        Assert.NotNull(query.Code);
    }

    [Fact]
    public async Task a_body_over_the_size_limit_is_refused_with_a_parse_error()
    {
        using var server = new CrmServer(new Dictionary<string, string?> { ["Parse:Limits:MaxBodyBytes"] = "1024" });
        using var client = server.Client().AsMaster();
        var cls = Wire.Unique("Err");
        await client.CreateAsync(cls, new { a = 1 });
        var response = await client.PostAsync($"classes/{cls}", new { big = new string('x', 4096) });
        Assert.Equal(413, (int)response.Status);
        Assert.NotNull(response.Code);
        Assert.Equal(1, await client.CountAsync(cls));
    }

    [Fact]
    public async Task options_requests_answer_200_without_credentials_with_cors_headers()
    {
        using var client = Server.Client();
        // A browser on an allowed origin (localhost by default, see Parse:Cors:AllowedOrigins) gets its origin back.
        var response = await client.SendAsync(HttpMethod.Options, "classes/Anything", appId: false, headers: new Dictionary<string, string> { ["Origin"] = "http://localhost:8080" });
        response.EnsureStatus(HttpStatusCode.OK);
        Assert.Equal("http://localhost:8080", response.Header("Access-Control-Allow-Origin"));
        var methods = response.Header("Access-Control-Allow-Methods") ?? "";
        foreach (var method in new[] { "GET", "PUT", "POST", "DELETE", "OPTIONS" }) Assert.Contains(method, methods, StringComparison.Ordinal);
        var allowed = response.Header("Access-Control-Allow-Headers") ?? "";
        foreach (var header in new[] { "X-Parse-Application-Id", "X-Parse-Session-Token", "X-Parse-Master-Key", "X-Parse-Client-Version", "Content-Type" })
            Assert.Contains(header, allowed, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("X-Parse-Job-Status-Id", response.Header("Access-Control-Expose-Headers") ?? "", StringComparison.Ordinal);
    }

    [Fact]
    public async Task every_response_carries_cors_headers_including_errors()
    {
        using var client = Server.Client();
        var origin = new Dictionary<string, string> { ["Origin"] = "http://127.0.0.1:3000" };
        var ok = await client.SendAsync(HttpMethod.Get, "health", headers: origin);
        var unauthorized = await client.SendAsync(HttpMethod.Get, "classes/Anything", appId: false, headers: origin);
        var error = await client.SendAsync(HttpMethod.Get, "classes/Bad-Name", headers: origin);
        foreach (var response in new[] { ok, unauthorized, error })
        {
            Assert.Equal("http://127.0.0.1:3000", response.Header("Access-Control-Allow-Origin"));
            Assert.NotNull(response.Header("Access-Control-Expose-Headers"));
        }
    }
}
