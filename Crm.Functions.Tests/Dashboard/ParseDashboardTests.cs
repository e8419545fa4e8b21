using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Crm.Functions.Crm;
using Crm.Functions.Tests.CrmTemplate;
using Crm.Functions.Tests.Infrastructure;
using Crm.Functions.Tests.Reliability;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Crm.Functions.Tests.Dashboard;

/// <summary>
/// Parse Dashboard 9.2.0, the npm release, pointed at this server with the CRM template and its demo data, driven in
/// Debian's Chromium (node/dashboard/dashboard-e2e.mjs): log in, browse every CRM class, add a row, edit a string, a
/// number, a date and a pointer cell, add and delete a column, edit a CLP, filter, add and change a Config
/// parameter (read back with the JS SDK's Parse.Config.get()), create a View over an aggregate pipeline and run a
/// query in the API console, add an afterSave webhook of Deal on the Webhooks page, see it listed and delete it. Each step's screenshot is kept in artifacts/dashboard/NN-step.png at the repository
/// root. The script checks what the pages show; this test then checks the store through REST, and the server's
/// access log for any refused request.
/// </summary>
public sealed partial class ParseDashboardTests(ITestOutputHelper output)
{
    private static readonly string[] BrowsedClasses = ["Company", "Contact", "Deal", "Activity", "_User"];

    /// <summary>Requests the dashboard session is expected to have refused (method and path, status): none.</summary>
    private static readonly HashSet<string> ExpectedRefusals = [];

    [GeneratedRegex(@"(?<method>[A-Z]+) (?<path>/\S*) answered (?<status>\d{3})(?: \(Parse error (?<code>\d+)\))? in")]
    private static partial Regex AccessLogLine();

    [Fact]
    public async Task parse_dashboard_manages_the_crm_in_chromium_and_the_server_refuses_nothing()
    {
        var folder = Tools.NodeProject("dashboard");
        var logs = new CapturingLoggerProvider();
        using var server = new CrmServer(new Dictionary<string, string?>
        {
            ["Crm:ApplyTemplate"] = "true",
            // The access log: one Debug line per request with its status (WebEdgeMiddleware).
            [$"Logging:LogLevel:{typeof(global::Crm.Functions.Http.WebEdgeMiddleware).FullName}"] = "Debug",
        }, services => services.AddSingleton<ILoggerProvider>(logs));
        await server.Services.GetRequiredService<DemoData>().SeedAsync(20261207, "Managers", CancellationToken.None);

        using var master = server.Client().AsMaster();
        var counts = new JsonObject();
        foreach (var className in BrowsedClasses) counts[className] = await master.CountAsync(className);
        var deals = (await master.QueryAsync("Deal", extra: "limit=1000")).Results;
        var stages = new JsonObject();
        foreach (var group in deals.GroupBy(d => d!["stage"]!.GetValue<string>()).OrderBy(g => g.Key, StringComparer.Ordinal))
            stages[group.Key] = group.Count();
        Assert.True(stages.Count > 1, "the demo data should have deals in several stages");

        // node/dashboard → node → Crm.Functions.Tests → the repository.
        var screenshots = Path.Combine(Path.GetFullPath(Path.Combine(folder, "..", "..", "..")), "artifacts", "dashboard");
        if (Directory.Exists(screenshots)) Directory.Delete(screenshots, recursive: true);
        // The session's part of the access log starts here (the readiness polls before it answer 503 by design).
        var logStart = logs.Text.Length;
        // The Webhooks page registers an afterSave trigger of Deal pointing here, and deletes it.
        await using var receiver = new Webhooks.WebhookReceiver();
        var run = await Tools.RunAsync("node", folder, ["dashboard-e2e.mjs"], new Dictionary<string, string>
        {
            ["PARSE_SERVER_URL"] = server.ParseUrl,
            ["GRAPHQL_URL"] = server.BaseUrl + "/graphql",
            ["APP_ID"] = CrmServer.AppId,
            ["MASTER_KEY"] = CrmServer.MasterKey,
            ["SCREENSHOT_DIR"] = screenshots,
            ["EXPECTED_COUNTS"] = counts.ToJsonString(),
            ["EXPECTED_STAGES"] = stages.ToJsonString(),
            ["WEBHOOK_URL"] = receiver.Url("/deal-saved"),
        });
        output.WriteLine(run.StdOut);
        if (run.StdErr.Length > 0) output.WriteLine(run.StdErr);
        Assert.True(run.ExitCode == 0, $"node dashboard-e2e.mjs failed: {run}");
        Assert.Contains("all checks passed", run.StdOut, StringComparison.Ordinal);
        var result = JsonNode.Parse(run.StdOut.Split('\n').Single(l => l.StartsWith("result: ", StringComparison.Ordinal))["result: ".Length..])!;

        // The row added in the data browser.
        var added = (await master.GetAsync($"classes/Company/{result["addedCompanyId"]!.GetValue<string>()}")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Equal("Dashboard Row Ltd", added["name"]!.GetValue<string>());
        Assert.Equal("Dashboards", added["industry"]!.GetValue<string>());
        Assert.Equal(counts["Company"]!.GetValue<long>() + 1, await master.CountAsync("Company"));

        // The four cells edited in place, each of its own type.
        var dealId = result["editedDeal"]!["objectId"]!.GetValue<string>();
        var deal = (await master.GetAsync($"classes/Deal/{dealId}")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Equal("Edited in the dashboard", deal["title"]!.GetValue<string>());
        Assert.Equal(4321.5, deal["amount"]!.GetValue<double>());
        Assert.Equal("""{"__type":"Date","iso":"2027-05-04T10:30:00.000Z"}""", deal["expectedCloseDate"]!.ToJsonString());
        Assert.Equal("Pointer", deal["company"]!["__type"]!.GetValue<string>());
        Assert.Equal("Company", deal["company"]!["className"]!.GetValue<string>());
        Assert.Equal(result["editedDeal"]!["companyId"]!.GetValue<string>(), deal["company"]!["objectId"]!.GetValue<string>());

        // The column added then deleted is gone from the schema; the CLP saved in the dialog is the stored one.
        var contact = (await master.GetAsync("schemas/Contact")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Null(contact["fields"]!["dashboardNote"]);
        Assert.NotNull(contact["fields"]!["email"]);
        var company = (await master.GetAsync("schemas/Company")).EnsureStatus(HttpStatusCode.OK).Json!;
        var clp = company["classLevelPermissions"]!;
        Assert.True(clp["find"]!["role:Managers"]!.GetValue<bool>());
        Assert.True(clp["get"]!["role:Managers"]!.GetValue<bool>());
        Assert.True(JsonNode.DeepEquals(result["savedClp"], clp), $"stored CLP {clp.ToJsonString()} differs from the saved {result["savedClp"]!.ToJsonString()}");

        // The filter showed exactly the won deals.
        var won = await master.IdsAsync("Deal", new JsonObject { ["stage"] = "won" }, "limit=1000");
        Assert.Equal(won.Order(StringComparer.Ordinal), result["filteredDealIds"]!.AsArray().Select(n => n!.GetValue<string>()).Order(StringComparer.Ordinal));

        // The Config parameter, as any client reads it (the script read it with Parse.Config.get() too).
        var config = (await server.Client().GetAsync("config")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Equal("Changed in the dashboard", config["params"]!["welcomeMessage"]!.GetValue<string>());
        Assert.Equal("Changed in the dashboard", result["sdkConfigWelcomeMessage"]!.GetValue<string>());

        // The View's rows are the stages and their deal counts.
        var viewRows = result["viewRows"]!.AsArray().Select(r => string.Join(' ', r!.AsArray().Select(c => c!.GetValue<string>()))).ToList();
        foreach (var (stage, count) in stages) Assert.Contains($"{stage} {count}", viewRows);

        // The webhook added on the Webhooks page was listed with its class, trigger and URL, and is gone from the server.
        Assert.Equal(["Trigger", "Deal", "afterSave", receiver.Url("/deal-saved")], result["listedWebhook"]!.AsArray().Select(c => c!.GetValue<string>()));
        Assert.Empty((await master.GetAsync("hooks/triggers")).EnsureStatus(HttpStatusCode.OK).Json!.AsArray());

        foreach (var step in new[] { "login", "browse-Company", "browse-_User", "add-row", "edit-cells", "add-column", "delete-column", "edit-clp", "filter", "config-add", "config-change", "view", "api-console", "webhook-add", "webhook-delete" })
            Assert.True(Directory.EnumerateFiles(screenshots, $"??-{step}.png").Any(), $"missing screenshot of {step}");

        // The server's own access log: every request the session made, none refused but those expected.
        var answered = AccessLogLine().Matches(logs.Text[logStart..]).Select(m => (Request: $"{m.Groups["method"].Value} {m.Groups["path"].Value}", Status: int.Parse(m.Groups["status"].Value, System.Globalization.CultureInfo.InvariantCulture), Code: m.Groups["code"].Value)).ToList();
        output.WriteLine($"{answered.Count} requests logged");
        Assert.Contains(answered, a => a.Request.EndsWith("/parse/aggregate/Deal", StringComparison.Ordinal) && a.Status == 200);
        Assert.Contains(answered, a => a.Request.EndsWith("/parse/config", StringComparison.Ordinal) && a.Status == 200);
        Assert.Contains(answered, a => a.Request.StartsWith("POST /parse/schemas/Contact", StringComparison.Ordinal) && a.Status == 200);
        Assert.Contains(answered, a => a.Request == "POST /parse/hooks/triggers" && a.Status == 200);
        Assert.Contains(answered, a => a.Request == "POST /parse/hooks/triggers/Deal/afterSave" && a.Status == 200);
        var refused = answered.Where(a => a.Status >= 400 && !ExpectedRefusals.Contains($"{a.Request} {a.Status}")).Select(a => $"{a.Request} {a.Status} (Parse error {a.Code})").ToList();
        Assert.True(refused.Count == 0, $"the server refused: {string.Join(", ", refused)}");
    }
}
