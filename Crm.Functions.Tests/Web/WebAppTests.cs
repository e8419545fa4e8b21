using System.Net;
using Crm.Functions.Crm;
using Crm.Functions.Tests.CrmTemplate;
using Crm.Functions.Tests.Deployment;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Crm.Functions.Tests.Web;

/// <summary>
/// The CRM web app (web/): its Vitest unit tests, the server's serving of the built app at /, and the
/// end-to-end script (node/browser/web-e2e.mjs) in Debian's Chromium against the real server with the CRM
/// template and demo data. The build of Crm.Functions builds the app (and installs web/node_modules).
/// </summary>
public sealed class WebAppTests(ITestOutputHelper output)
{
    private static string WebFolder()
    {
        var web = DeploymentFiles.InRepo("web");
        Assert.True(File.Exists(Path.Combine(web, "dist", "index.html")), $"{web}/dist is missing: building Crm.Functions builds it (npm run build in web/).");
        Assert.True(Directory.Exists(Path.Combine(web, "node_modules", "vitest")), $"{web}/node_modules is missing: building Crm.Functions installs it (npm ci in web/).");
        return web;
    }

    [Fact]
    public async Task vitest_unit_tests_of_the_client_state_pass()
    {
        var web = WebFolder();
        var run = await Tools.RunAsync("node", web, [Path.Combine("node_modules", "vitest", "vitest.mjs"), "run", "--reporter=verbose"],
            new Dictionary<string, string> { ["CI"] = "1", ["NO_COLOR"] = "1" });
        output.WriteLine(run.StdOut);
        Assert.True(run.ExitCode == 0, $"vitest failed: {run}");
        Assert.Contains("passed", run.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task the_server_serves_the_app_and_client_routes_but_keeps_its_own_404s()
    {
        WebFolder();
        using var server = new CrmServer();
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };

        foreach (var path in new[] { "/", "/pipeline", "/deals/abc123", "/activities" })
        {
            using var page = await http.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
            Assert.Contains("<div id=\"root\">", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        var html = await http.GetStringAsync("/");
        var script = System.Text.RegularExpressions.Regex.Match(html, "src=\"(/assets/[^\"]+\\.js)\"").Groups[1].Value;
        Assert.NotEmpty(script);
        using (var asset = await http.GetAsync(script))
        {
            Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
            Assert.Contains("immutable", asset.Headers.CacheControl?.ToString() ?? "", StringComparison.Ordinal);
        }

        // The server's own paths are never answered with the app.
        foreach (var path in new[] { "/docs/no-such-page", "/hubs/nothing", "/negotiate/x", "/graphql/assets/secrets.json", "/assets/missing.js", "/parse" })
        {
            using var missing = await http.GetAsync(path);
            Assert.True(missing.StatusCode == HttpStatusCode.NotFound, $"GET {path} answered {(int)missing.StatusCode}");
        }
        using var parse = new HttpRequestMessage(HttpMethod.Get, "/parse/no/such/route");
        parse.Headers.Add("X-Parse-Application-Id", CrmServer.AppId);
        using var parseResponse = await http.SendAsync(parse);
        Assert.Equal(HttpStatusCode.NotFound, parseResponse.StatusCode);
        Assert.Equal("application/json", parseResponse.Content.Headers.ContentType?.MediaType);
        using var docs = await http.GetAsync("/docs/erd");
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        Assert.DoesNotContain("<div id=\"root\">", await docs.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var post = await http.PostAsync("/pipeline", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.NotFound, post.StatusCode);
    }

    [Fact]
    public async Task end_to_end_in_chromium_sign_up_pipeline_live_activities_dashboard_offline()
    {
        WebFolder();
        var browser = Tools.NodeProject("browser");
        var folder = Tools.NewFolder();
        try
        {
            // Demo data with the app's own command on the SQLite folder; on the Cosmos run, the same seeding code in-process.
            if (CrmServer.StoreKind == "sqlite")
            {
                var seed = await Tools.CliAsync(folder, "seed", "--demo", "--Crm:ApplyTemplate=true");
                Assert.True(seed.ExitCode == 0, $"seed --demo failed: {seed}");
                output.WriteLine(seed.StdOut);
            }
            using var server = Tools.TemplateServer(folder);
            if (CrmServer.StoreKind != "sqlite")
                await server.Services.GetRequiredService<DemoData>().SeedAsync(20261124, "Managers", CancellationToken.None);

            var screenshots = DeploymentFiles.InRepo("artifacts", "screenshots");
            var run = await Tools.RunAsync("node", browser, ["web-e2e.mjs"], new Dictionary<string, string>
            {
                ["BASE_URL"] = server.BaseUrl,
                ["SCREENSHOT_DIR"] = screenshots,
                ["DEMO_USER"] = DemoData.SalesUsers[0],
                ["DEMO_PASSWORD"] = DemoData.Password,
            });
            output.WriteLine(run.StdOut);
            if (run.StdErr.Length > 0) output.WriteLine(run.StdErr);
            Assert.True(run.ExitCode == 0, $"node web-e2e.mjs failed: {run}");
            Assert.Contains("all checks passed", run.StdOut, StringComparison.Ordinal);
            foreach (var shot in new[] { "pipeline-board.png", "dashboard.png" })
                Assert.True(File.Exists(Path.Combine(screenshots, shot)), $"missing screenshot {shot}");
        }
        finally
        {
            Tools.DeleteFolder(folder);
        }
    }
}
