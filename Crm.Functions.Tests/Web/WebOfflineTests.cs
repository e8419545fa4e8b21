using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.CrmTemplate;
using Crm.Functions.Tests.Deployment;
using Crm.Functions.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Crm.Functions.Tests.Web;

/// <summary>
/// The web app offline (web/src/sync.ts, lib/queue.ts, the Workbox service worker): how the server serves the worker and
/// the manifest, and the end-to-end script node/browser/web-offline.mjs in Debian's Chromium — installable, reload while
/// offline, synced lists and dashboard, queued edits sent on reconnect, the conflict dialog, a colleague's board. The
/// server's final state is checked here again over REST.
/// </summary>
public sealed class WebOfflineTests(ITestOutputHelper output)
{
    private static void RequireBuiltApp()
    {
        var dist = DeploymentFiles.InRepo("web", "dist");
        Assert.True(File.Exists(Path.Combine(dist, "sw.js")), $"{dist}/sw.js is missing: building Crm.Functions builds the app (npm run build in web/).");
    }

    [Fact]
    public async Task the_server_serves_the_service_worker_uncached_and_the_manifest_with_its_type()
    {
        RequireBuiltApp();
        using var server = new CrmServer();
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };

        // A worker script cached by the browser would keep an old app alive: it is revalidated on every check.
        using var sw = await http.GetAsync("/sw.js");
        Assert.Equal(HttpStatusCode.OK, sw.StatusCode);
        Assert.Equal("text/javascript", sw.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-cache", sw.Headers.CacheControl?.ToString());
        var script = await sw.Content.ReadAsStringAsync();
        Assert.Contains("index.html", script, StringComparison.Ordinal);

        using var manifest = await http.GetAsync("/manifest.webmanifest");
        Assert.Equal(HttpStatusCode.OK, manifest.StatusCode);
        Assert.Equal("application/manifest+json", manifest.Content.Headers.ContentType?.MediaType);
        var json = JsonNode.Parse(await manifest.Content.ReadAsStringAsync())!;
        Assert.Equal("standalone", json["display"]!.GetValue<string>());
        foreach (var icon in json["icons"]!.AsArray())
        {
            using var image = await http.GetAsync(icon!["src"]!.GetValue<string>());
            Assert.Equal(HttpStatusCode.OK, image.StatusCode);
        }

        // The app page's policy lets it register its worker and read its manifest (both same-origin).
        using var page = await http.GetAsync("/pipeline");
        var csp = string.Join(' ', page.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("worker-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("default-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("<link rel=\"manifest\" href=\"/manifest.webmanifest\">", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task offline_in_chromium_reload_synced_lists_queued_edits_conflicts_and_a_colleagues_board()
    {
        RequireBuiltApp();
        using var server = Tools.TemplateServer();
        var screenshots = DeploymentFiles.InRepo("artifacts", "screenshots", "web-offline");
        var run = await Tools.RunAsync("node", Tools.NodeProject("browser"), ["web-offline.mjs"], new Dictionary<string, string>
        {
            ["BASE_URL"] = server.BaseUrl,
            ["PARSE_URL"] = server.ParseUrl,
            ["APP_ID"] = CrmServer.AppId,
            ["SCREENSHOT_DIR"] = screenshots,
        });
        output.WriteLine(run.StdOut);
        if (run.StdErr.Length > 0) output.WriteLine(run.StdErr);
        Assert.True(run.ExitCode == 0, $"node web-offline.mjs failed: {run}");
        Assert.Contains("all checks passed", run.StdOut, StringComparison.Ordinal);
        foreach (var shot in new[] { "offline-reload-board.png", "offline-dashboard.png", "offline-companies.png", "offline-queue.png", "conflict-dialog.png", "back-online-board.png", "colleague-board.png" })
            Assert.True(File.Exists(Path.Combine(screenshots, shot)), $"missing screenshot {shot}");

        // What the browser did, as the server has it (master key: whatever the users' ACLs).
        var result = JsonNode.Parse(run.StdOut.Split('\n').Single(l => l.StartsWith("RESULT ", StringComparison.Ordinal))["RESULT ".Length..])!;
        using var master = server.Client().AsMaster();
        async Task<JsonNode> Deal(string key) =>
            (await master.GetAsync($"classes/Deal/{result[key]!.GetValue<string>()}")).EnsureStatus(HttpStatusCode.OK).Json!;
        var renewal = await Deal("d1");
        Assert.Equal(47500, renewal["amount"]!.GetValue<double>());
        Assert.Equal("Procurement wants a 3-year term", renewal["notes"]!.GetValue<string>());
        Assert.Equal("proposal", (await Deal("d2"))["stage"]!.GetValue<string>());
        Assert.Equal("negotiation", (await Deal("d3"))["stage"]!.GetValue<string>());
        Assert.Equal(1, await master.CountAsync("Contact", new JsonObject { ["name"] = result["contact"]!.GetValue<string>() }));
    }
}
