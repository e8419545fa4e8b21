using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Issue 17 item 14: the anonymous <c>/docs/schema.json</c> showed the class-level permissions and indexes that
/// <c>/schemas</c> keeps to the master key.
/// </summary>
public sealed class DocsSchemaShowsPermissionsTests(FastServerFixture fixture) : IClassFixture<FastServerFixture>
{
    private async Task<JsonObject> SchemaDocumentAsync(IDictionary<string, string>? headers = null)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, fixture.Server.BaseUrl + "/docs/schema.json");
        foreach (var (name, value) in headers ?? new Dictionary<string, string>()) request.Headers.Add(name, value);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    private static JsonObject ClassIn(JsonObject document, string className) =>
        document["classes"]!.AsArray().Single(c => c!["className"]!.GetValue<string>() == className)!.AsObject();

    [Fact]
    public async Task the_public_schema_document_leaves_out_permissions_and_indexes()
    {
        var className = Wire.Unique("Secret");
        using var master = fixture.Server.Client().AsMaster();
        (await master.PostAsync($"schemas/{className}", new JsonObject
        {
            ["fields"] = new JsonObject { ["code"] = new JsonObject { ["type"] = "String", ["description"] = "internal code" } },
            ["classLevelPermissions"] = new JsonObject
            {
                ["find"] = new JsonObject { ["role:Auditors"] = true }, ["get"] = new JsonObject { ["role:Auditors"] = true },
            },
            ["indexes"] = new JsonObject { ["by_code"] = new JsonObject { ["code"] = 1 } },
        })).EnsureStatus(HttpStatusCode.OK);

        var anonymous = ClassIn(await SchemaDocumentAsync(), className);
        Assert.Equal("internal code", anonymous["fields"]!["code"]!["description"]!.GetValue<string>());
        Assert.Null(anonymous["classLevelPermissions"]);
        Assert.Null(anonymous["indexes"]);

        // A master key from the wrong application, or a session token, is not the master key.
        var wrongApp = ClassIn(await SchemaDocumentAsync(new Dictionary<string, string>
        {
            ["X-Parse-Application-Id"] = "other", ["X-Parse-Master-Key"] = CrmServer.MasterKey,
        }), className);
        Assert.Null(wrongApp["classLevelPermissions"]);

        var full = ClassIn(await SchemaDocumentAsync(new Dictionary<string, string>
        {
            ["X-Parse-Application-Id"] = CrmServer.AppId, ["X-Parse-Master-Key"] = CrmServer.MasterKey,
        }), className);
        Assert.True(full["classLevelPermissions"]!["find"]!["role:Auditors"]!.GetValue<bool>());
        Assert.Equal(1, full["indexes"]!["by_code"]!["code"]!.GetValue<int>());
    }
}
