using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Issue 17 item 2: a <c>/batch</c> of 50 password changes cost 3.2 s of bcrypt in one request. A request that
/// is not the master key's now hashes at most Parse:Limits:MaxPasswordHashesPerRequest passwords (155 after).
/// </summary>
public sealed class BatchBcryptAmplificationTests
{
    private static IEnumerable<(string, string, JsonNode?)> PasswordChanges(string userId, int count) =>
        Enumerable.Range(0, count).Select(i => ("PUT", $"users/{userId}", (JsonNode?)new JsonObject { ["password"] = $"new password number {i}" }));

    [Fact]
    public async Task a_batch_of_password_changes_hashes_only_a_few_passwords()
    {
        using var server = new CrmServer(TestSettings.Fast(("Parse:Limits:MaxPasswordHashesPerRequest", "3")));
        using var client = server.Client();
        var username = Wire.Unique("hasher");
        var (userId, _) = await client.SignUpAsync(username);

        var batch = await client.BatchAsync(PasswordChanges(userId, 6));

        batch.EnsureStatus(HttpStatusCode.OK);
        var results = batch.Json!.AsArray();
        Assert.All(results.Take(3), r => Assert.NotNull(r!["success"]));
        Assert.All(results.Skip(3), r => Assert.Equal(155, r!["error"]!["code"]!.GetValue<int>()));
        (await server.Client().LogInAsync(username, "new password number 2")).EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task the_master_key_is_not_limited()
    {
        using var server = new CrmServer(TestSettings.Fast(("Parse:Limits:MaxPasswordHashesPerRequest", "3")));
        using var client = server.Client();
        var (userId, _) = await client.SignUpAsync(Wire.Unique("admin"));
        using var master = server.Client().AsMaster();

        var batch = await master.BatchAsync(PasswordChanges(userId, 6));

        batch.EnsureStatus(HttpStatusCode.OK);
        Assert.All(batch.Json!.AsArray(), r => Assert.NotNull(r!["success"]));
    }
}
