using Crm.Functions.Tests.Infrastructure;
using static Crm.Functions.Tests.Regressions.RealtimeAfterPasswordChangeTests;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// An Entra caller has no Parse session to revoke: its real-time connection used to outlive its bearer token for
/// good. It now lasts at most until the bearer it negotiated with expires.
/// </summary>
public sealed class RealtimeEntraTokenExpiryTests
{
    [Fact]
    public async Task an_entra_callers_connection_closes_when_the_bearer_it_negotiated_with_expires()
    {
        await using var idp = new TestIdentityProvider();
        var settings = idp.Settings();
        settings["Realtime:SessionCheckSeconds"] = "1";
        using var server = new CrmServer(settings, idp.TrustIn);

        // Still accepted on REST (the bearer handler allows clock skew), but its expiry bounds the connection.
        var expires = DateTime.UtcNow.AddSeconds(20);
        var bearer = idp.Token(Guid.NewGuid().ToString(), "erin@contoso.example", expires: expires);
        await using var live = await RealtimeClient.ConnectAsync(server, bearer);
        var closed = ClosedAsync(live);
        Assert.False(closed.IsCompleted);

        var untilExpiry = (int)Math.Max(0, (expires - DateTime.UtcNow).TotalMilliseconds);
        await ExpectClosedAsync(closed, "the Entra bearer it negotiated with has expired", untilExpiry + 5000);
    }
}
