using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Issue 17 item 8: _User, _Role and _Session let everyone add fields, and nothing capped fields: one anonymous
/// sign-up with 20,000 extra keys added 20,000 fields for good.
/// </summary>
public sealed class ClientsGrowSystemClassSchemasTests : IClassFixture<ClientsGrowSystemClassSchemasTests.Fixture>
{
    private const int MaxFieldsPerClass = 60;

    public sealed class Fixture : IDisposable
    {
        public CrmServer Server { get; } = new(TestSettings.Fast(("Parse:Limits:MaxFieldsPerClass", MaxFieldsPerClass.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        public void Dispose() => Server.Dispose();
    }

    private readonly CrmServer _server;

    public ClientsGrowSystemClassSchemasTests(Fixture fixture) => _server = fixture.Server;

    private async Task<IReadOnlyCollection<string>> FieldsAsync(string className)
    {
        using var master = _server.Client().AsMaster();
        var schema = (await master.GetAsync($"schemas/{className}")).EnsureStatus(HttpStatusCode.OK);
        return schema.Json!["fields"]!.AsObject().Select(f => f.Key).ToList();
    }

    private static JsonObject WithExtraFields(JsonObject body, string prefix, int count)
    {
        for (var i = 0; i < count; i++) body[$"{prefix}{i}"] = i;
        return body;
    }

    [Fact]
    public async Task an_anonymous_sign_up_cannot_add_fields_to_the_user_class()
    {
        var prefix = Wire.Unique("junk");
        using var anonymous = _server.Client();
        var body = WithExtraFields(new JsonObject { ["username"] = Wire.Unique("u"), ["password"] = "correct horse battery" }, prefix, 3);
        (await anonymous.PostAsync("users", body)).EnsureError(119);
        Assert.DoesNotContain(await FieldsAsync("_User"), f => f.StartsWith(prefix, StringComparison.Ordinal));
    }

    [Fact]
    public async Task a_user_cannot_add_fields_to_itself_or_to_its_sessions()
    {
        var prefix = Wire.Unique("extra");
        using var user = _server.Client();
        var (userId, _) = await user.SignUpAsync(Wire.Unique("u"));
        (await user.PutAsync($"users/{userId}", new JsonObject { [prefix + "0"] = "x" })).EnsureError(119);
        var sessionId = (await user.GetAsync("sessions/me")).EnsureStatus(HttpStatusCode.OK).Json!["objectId"]!.GetValue<string>();
        (await user.PutAsync($"sessions/{sessionId}", new JsonObject { [prefix + "1"] = "x" })).EnsureError(119);
        var fields = (await FieldsAsync("_User")).Concat(await FieldsAsync("_Session"));
        Assert.DoesNotContain(fields, f => f.StartsWith(prefix, StringComparison.Ordinal));

        // Known fields are written as before, and the master key may still add fields.
        (await user.PutAsync($"users/{userId}", new JsonObject { ["email"] = Wire.Unique("e") + "@example.com" })).EnsureStatus(HttpStatusCode.OK);
        using var master = _server.Client().AsMaster();
        (await master.PutAsync($"users/{userId}", new JsonObject { [prefix + "2"] = "x" })).EnsureStatus(HttpStatusCode.OK);
        Assert.Contains(prefix + "2", await FieldsAsync("_User"));
    }

    [Fact]
    public async Task client_writes_add_a_bounded_number_of_fields_per_write_and_per_class()
    {
        var className = Wire.Unique("Grow");
        using var master = _server.Client().AsMaster();
        await master.CreateAsync(className, new JsonObject { ["seed"] = 1 });
        using var client = _server.Client();

        (await client.PostAsync($"classes/{className}", WithExtraFields([], "a", 51))).EnsureError(255);
        Assert.Single(await FieldsAsync(className), f => f == "seed");
        await client.CreateAsync(className, WithExtraFields([], "b", 50));
        // 51 fields now (plus the default ones); ten more would pass the class cap of 60.
        (await client.PostAsync($"classes/{className}", WithExtraFields([], "c", 10))).EnsureError(255);
        await client.CreateAsync(className, WithExtraFields([], "d", 5));
        Assert.Equal(56, (await FieldsAsync(className)).Count(f => f is not ("objectId" or "createdAt" or "updatedAt" or "ACL")));
    }
}
