using System.Net;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests;

/// <summary>Behind the Functions host every request comes from loopback; the master key must judge the real client.</summary>
public sealed class ProxyTests
{
    private static readonly Dictionary<string, string> FromInternet = new() { ["X-Forwarded-For"] = "203.0.113.5" };

    [Fact]
    public async Task behind_a_proxy_the_master_key_from_a_forwarded_internet_address_is_refused()
    {
        using var server = new CrmServer(new Dictionary<string, string?> { ["Parse:BehindProxy"] = "true" });
        using var client = server.Client().AsMaster();
        var refused = await client.SendAsync(HttpMethod.Get, "schemas", headers: FromInternet);
        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        Assert.Equal("unauthorized", refused.Json!["error"]!.GetValue<string>());
        (await client.GetAsync("schemas")).EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task without_a_proxy_a_client_sent_forwarded_header_changes_nothing()
    {
        using var server = new CrmServer(new Dictionary<string, string?> { ["Parse:BehindProxy"] = "false" });
        using var client = server.Client().AsMaster();
        (await client.SendAsync(HttpMethod.Get, "schemas", headers: FromInternet)).EnsureStatus(HttpStatusCode.OK);
    }
}
