using System.Net;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Found by Parse Dashboard 9.2.0: serverInfo answered this app's own version, 1.0.0, as <c>parseServerVersion</c>.
/// Clients read that field as the Parse Server protocol level: the dashboard showed "Parse Server 1.0.0 is not
/// officially supported" on every app and hid what it gates on newer servers (master-key-only Config parameters
/// need 3.9.0, field defaults 3.7.0). serverInfo now answers the protocol level the server follows.
/// </summary>
public sealed class ServerInfoParseVersionTests(CrmServerFixture fixture) : IClassFixture<CrmServerFixture>
{
    [Fact]
    public async Task server_info_names_a_parse_server_version_the_dashboard_supports()
    {
        using var master = fixture.Server.Client().AsMaster();
        var info = (await master.GetAsync("serverInfo")).EnsureStatus(HttpStatusCode.OK).Json!;
        var version = Version.Parse(info["parseServerVersion"]!.GetValue<string>());
        // Parse Dashboard 9.2.0 supports Parse Server >= 7.0.0 and warns below it.
        Assert.True(version >= new Version(7, 0, 0), $"parseServerVersion {version} is below 7.0.0");
    }
}
