using Crm.Functions.Crm;
using Crm.Functions.Tests.CrmTemplate;
using Crm.Functions.Tests.Deployment;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Crm.Functions.Tests.Web;

/// <summary>
/// The web app's everyday CRM work in Chromium (node/browser/web-crm.mjs) against the real server with the CRM
/// template and demo data: activities edited and deleted, deletes that re-link or delete what points at a record,
/// field-level errors, toasts and the confirm dialog, reassignment and owners on cards, quick add, the activities
/// list, list and global search, CSV import (with duplicates and bad rows) and export, dashboard forecast and
/// signals, the served app name and colour, the Developers menu and the pipeline's stage tabs on a phone.
/// </summary>
public sealed class WebCrmTests(ITestOutputHelper output)
{
    private static readonly string[] Screenshots = ["board.png", "dashboard.png", "deal.png", "import.png", "board-phone.png", "dashboard-manager.png"];

    [Fact]
    public async Task everyday_crm_work_in_chromium_records_errors_owners_search_import_export_dashboard_phone()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Crm.Functions.sln"))) root = root.Parent;
        Assert.True(root is not null && File.Exists(Path.Combine(root.FullName, "web", "dist", "index.html")),
            "web/dist is missing: building Crm.Functions builds it (npm run build in web/).");
        var browser = Tools.NodeProject("browser");
        var folder = Tools.NewFolder();
        try
        {
            if (CrmServer.StoreKind == "sqlite")
            {
                var seed = await Tools.CliAsync(folder, "seed", "--demo", "--Crm:ApplyTemplate=true");
                Assert.True(seed.ExitCode == 0, $"seed --demo failed: {seed}");
            }
            using var server = Tools.TemplateServer(folder);
            if (CrmServer.StoreKind != "sqlite")
                await server.Services.GetRequiredService<DemoData>().SeedAsync(20261124, "Managers", CancellationToken.None);

            // Kept with the test's output, one folder per store, so a run on each leaves its own pictures.
            var screenshots = Path.Combine(AppContext.BaseDirectory, "artifacts", "web-crm", CrmServer.StoreKind);
            var run = await Tools.RunAsync("node", browser, ["web-crm.mjs"], new Dictionary<string, string>
            {
                ["BASE_URL"] = server.BaseUrl,
                ["APP_ID"] = CrmServer.AppId,
                ["MASTER_KEY"] = CrmServer.MasterKey,
                ["SCREENSHOT_DIR"] = screenshots,
                ["MANAGER_USER"] = DemoData.Manager,
                ["DEMO_PASSWORD"] = DemoData.Password,
            });
            output.WriteLine(run.StdOut);
            if (run.StdErr.Length > 0) output.WriteLine(run.StdErr);
            Assert.True(run.ExitCode == 0, $"node web-crm.mjs failed: {run}");
            Assert.Matches(@"all \d+ checks passed", run.StdOut);
            foreach (var shot in Screenshots)
                Assert.True(File.Exists(Path.Combine(screenshots, shot)), $"missing screenshot {shot}");
        }
        finally
        {
            Tools.DeleteFolder(folder);
        }
    }

    /// <summary>
    /// A record's history in the app (node/browser/web-history.mjs): a deal's stage and amount changed on its page show
    /// as one entry with old and new values, merged in time order with an activity and the deal's creation by a
    /// colleague; a master-key change arrives live; the company page has its history; a user who cannot read the deal
    /// gets 404 (101) for its history; offline, without the route and on a server error the page keeps working.
    /// </summary>
    [Fact]
    public async Task record_history_timeline_merged_with_activities_in_chromium()
    {
        Assert.True(File.Exists(Path.Combine(DeploymentFiles.InRepo("web"), "dist", "index.html")),
            "web/dist is missing: building Crm.Functions builds it (npm run build in web/).");
        using var server = Tools.TemplateServer();
        var screenshots = Path.Combine(AppContext.BaseDirectory, "artifacts", "web-crm", CrmServer.StoreKind);
        var run = await Tools.RunAsync("node", Tools.NodeProject("browser"), ["web-history.mjs"], new Dictionary<string, string>
        {
            ["BASE_URL"] = server.BaseUrl,
            ["APP_ID"] = CrmServer.AppId,
            ["MASTER_KEY"] = CrmServer.MasterKey,
            ["SCREENSHOT_DIR"] = screenshots,
        });
        output.WriteLine(run.StdOut);
        if (run.StdErr.Length > 0) output.WriteLine(run.StdErr);
        Assert.True(run.ExitCode == 0, $"node web-history.mjs failed: {run}");
        Assert.Matches(@"all \d+ checks passed", run.StdOut);
        foreach (var shot in new[] { "deal-history.png", "company-history.png", "deal-history-offline.png" })
            Assert.True(File.Exists(Path.Combine(screenshots, shot)), $"missing screenshot {shot}");
    }
}
