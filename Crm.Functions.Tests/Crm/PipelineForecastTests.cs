using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.CrmTemplate;

/// <summary>pipelineSummary's forecast: stage probabilities from the template, weighted amounts, the won/lost trend and the owner breakdown, all under the caller's ACL.</summary>
public sealed class PipelineForecastTests(TemplateServerFixture fixture) : IClassFixture<TemplateServerFixture>
{
    private readonly CrmServer _server = fixture.Server;

    private static JsonObject Date(DateTime value) => new() { ["__type"] = "Date", ["iso"] = value.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture) };

    [Fact]
    public async Task the_forecast_weighs_each_stage_by_its_probability_and_follows_the_callers_acl()
    {
        var (alice, aliceId, _) = await _server.UserAsync("alice");
        var (bob, bobId, _) = await _server.UserAsync("bob");
        var now = DateTime.UtcNow;
        var thisMonth = new DateTime(now.Year, now.Month, 1, 12, 0, 0, DateTimeKind.Utc);
        var lastMonth = thisMonth.AddMonths(-1);
        await Tools.CreateAsync(alice, "Deal", new JsonObject { ["title"] = "Lead", ["amount"] = 1000, ["stage"] = "lead" });
        await Tools.CreateAsync(alice, "Deal", new JsonObject { ["title"] = "Proposal", ["amount"] = 2000, ["stage"] = "proposal" });
        await Tools.CreateAsync(alice, "Deal", new JsonObject { ["title"] = "Won", ["amount"] = 500, ["stage"] = "won", ["expectedCloseDate"] = Date(thisMonth) });
        await Tools.CreateAsync(alice, "Deal", new JsonObject { ["title"] = "Lost", ["amount"] = 300, ["stage"] = "lost", ["expectedCloseDate"] = Date(lastMonth) });
        await Tools.CreateAsync(alice, "Deal", new JsonObject { ["title"] = "Lost long ago", ["amount"] = 50, ["stage"] = "lost", ["expectedCloseDate"] = Date(thisMonth.AddYears(-2)) });
        await Tools.CreateAsync(alice, "Deal", new JsonObject { ["title"] = "For bob", ["amount"] = 400, ["stage"] = "negotiation", ["assignedTo"] = Wire.PointerTo("_User", bobId) });
        await Tools.CreateAsync(bob, "Deal", new JsonObject { ["title"] = "Bob's own", ["amount"] = 80, ["stage"] = "qualified" });

        var summary = (await alice.PostAsync("functions/pipelineSummary", new JsonObject())).EnsureStatus(HttpStatusCode.OK).Json!["result"]!;
        var stages = summary["stages"]!.AsArray().ToDictionary(s => s!["stage"]!.GetValue<string>(), s => s!);
        Assert.Equal([10.0, 25, 50, 75, 100, 0], stages.Values.Select(s => s["probability"]!.GetValue<double>()));
        Assert.Equal(100, stages["lead"]["weightedAmount"]!.GetValue<double>());
        Assert.Equal(1000, stages["proposal"]["weightedAmount"]!.GetValue<double>());
        Assert.Equal(300, stages["negotiation"]["weightedAmount"]!.GetValue<double>());
        Assert.Equal(500, stages["won"]["weightedAmount"]!.GetValue<double>());
        Assert.Equal(0, stages["lost"]["weightedAmount"]!.GetValue<double>());
        Assert.Equal(6, summary["total"]!["count"]!.GetValue<long>());
        Assert.Equal(4250, summary["total"]!["amount"]!.GetValue<double>());
        Assert.Equal(1900, summary["total"]!["forecast"]!.GetValue<double>());

        var trend = summary["trend"]!.AsArray();
        Assert.Equal(12, trend.Count);
        Assert.Equal(thisMonth.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture), trend[11]!["month"]!.GetValue<string>());
        Assert.Equal(1, trend[11]!["won"]!["count"]!.GetValue<long>());
        Assert.Equal(500, trend[11]!["won"]!["amount"]!.GetValue<double>());
        Assert.Equal(300, trend[10]!["lost"]!["amount"]!.GetValue<double>());
        Assert.Equal(1, trend.Sum(m => m!["lost"]!["count"]!.GetValue<long>()));

        var owners = summary["owners"]!.AsArray().ToDictionary(o => o!["owner"]!["objectId"]!.GetValue<string>(), o => o!);
        Assert.Equal(2, owners.Count);
        Assert.Equal(aliceId, summary["owners"]![0]!["owner"]!["objectId"]!.GetValue<string>()); // the larger book first
        Assert.Equal(5, owners[aliceId]["count"]!.GetValue<long>());
        Assert.Equal(3000, owners[aliceId]["open"]!["amount"]!.GetValue<double>());
        Assert.Equal(500, owners[aliceId]["won"]!["amount"]!.GetValue<double>());
        Assert.Equal(1, owners[bobId]["count"]!.GetValue<long>());
        Assert.Equal(300, owners[bobId]["weightedAmount"]!.GetValue<double>());

        // Bob sees his two deals only, and so only himself as an owner.
        var forBob = (await bob.PostAsync("functions/pipelineSummary", new JsonObject())).EnsureStatus(HttpStatusCode.OK).Json!["result"]!;
        Assert.Equal(2, forBob["total"]!["count"]!.GetValue<long>());
        Assert.Equal(300 + 80 * 0.25, forBob["total"]!["forecast"]!.GetValue<double>());
        var bobOwners = forBob["owners"]!.AsArray();
        Assert.Equal(bobId, Assert.Single(bobOwners)!["owner"]!["objectId"]!.GetValue<string>());
        Assert.All(forBob["trend"]!.AsArray(), m => Assert.Equal(0, m!["won"]!["count"]!.GetValue<long>()));
    }
}
