using System.Net;
using System.Text;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// The change-feed endpoint compared the master key itself and let any loopback caller in, ignoring
/// Parse:MasterKeyIps, which REST honours: a master key from outside the allowed addresses read other users' events.
/// </summary>
public sealed class ChangeFeedIgnoresMasterKeyIpsTests
{
    [Fact]
    public async Task the_master_key_from_outside_master_key_ips_is_refused_403_at_the_change_feed_as_on_rest()
    {
        // The test calls from loopback, which is then outside the allowed range.
        using var server = new CrmServer(TestSettings.Fast(("Parse:MasterKeyIps:0", "10.0.0.0/8"), ("Classes:Deal:Feed", "true")));
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + "/DealChanges") { Content = new StringContent("""{"Data":{}}""", Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Parse-Application-Id", CrmServer.AppId);
        request.Headers.Add("X-Parse-Master-Key", CrmServer.MasterKey);
        using var rest = server.Client().AsMaster();

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, (await rest.GetAsync("schemas")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }
}
