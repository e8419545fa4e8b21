using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using Crm.Functions.Tests.Realtime;
using static Crm.Functions.Tests.Realtime.RealtimeFixtures;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Bug: "who negotiated" lived in the memory of the instance that answered <c>/negotiate</c>. On Flex Consumption the
/// change-feed functions run on other instances, which never see a negotiate, so changes to public or shared objects
/// reached nobody in Azure. Two app instances over one store: one answers negotiate, the other runs the change feed.
/// </summary>
public sealed class PresenceAcrossInstancesTests
{
    [Fact]
    public async Task a_public_change_reaches_a_user_who_negotiated_on_another_instance()
    {
        var settings = new Dictionary<string, string?> { ["Realtime:PushFromWrites"] = "false", ["Realtime:KeepPreviousState"] = "true", ["Classes:Deal:Feed"] = "true" };
        using var negotiating = new CrmServer(settings);
        await CreateDealClassAsync(negotiating);
        // The second instance starts on the same store once the class exists (each instance loads the schema at start).
        using var feeding = new CrmServer(new Dictionary<string, string?>(settings) { ["Parse:DataFolder"] = negotiating.DataFolder });
        var (alice, aliceId, _) = await negotiating.UserAsync("alice");
        var (_, bobId, bobToken) = await negotiating.UserAsync("bob");
        var (_, carolId, _) = await negotiating.UserAsync("carol");

        // Bob negotiates on the first instance; Carol never does.
        using (var http = new HttpClient())
        using (var request = new HttpRequestMessage(HttpMethod.Post, negotiating.BaseUrl + "/negotiate"))
        {
            request.Headers.Add("X-Parse-Application-Id", CrmServer.AppId);
            request.Headers.Add("X-Parse-Session-Token", bobToken);
            request.Content = new StringContent("", Encoding.UTF8, "text/plain");
            using var negotiated = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, negotiated.StatusCode);
        }

        // Alice makes a deal everyone may read; the change feed delivers it to the other instance.
        var dealId = await CreateDealAsync(alice, new JsonObject { ["title"] = "Open house", ["ACL"] = Acl(("*", false), (aliceId, true)) });
        var (status, answer) = await ChangeFeedTests.InvokeAsync(feeding, "DealChanges",
            ChangeFeedTests.Invocation(await ChangeFeedTests.DocumentAsync(feeding, "Deal", dealId)));
        Assert.Equal(HttpStatusCode.OK, status);
        var recipients = answer!["Outputs"]!["signalRMessages"]!.AsArray().Select(m => m!["userId"]!.GetValue<string>()).ToHashSet(StringComparer.Ordinal);

        Assert.Contains(aliceId, recipients);   // the owner, as before
        Assert.Contains(bobId, recipients);     // present through the store, though he negotiated elsewhere
        Assert.DoesNotContain(carolId, recipients);
    }
}
