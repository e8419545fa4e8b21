using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Crm.Functions.Tests.Deployment;

/// <summary>
/// What a first <c>azd up</c> depends on and Azure would only show on the day: azd's version and alpha feature,
/// the order of provisioning and packaging, the web app's API root, deep links on the Static Web App, CORS with
/// credentials, and the Cosmos role assignments that must not race the containers. Each check reads the file
/// azd or Azure reads, or the compiled ARM template.
/// </summary>
public sealed class FirstDeployTests(BicepBuildFixture build) : IClassFixture<BicepBuildFixture>
{
    private static string AzureYaml => File.ReadAllText(DeploymentFiles.InRepo("azure.yaml"));

    [Fact]
    public void azure_yaml_requires_the_azd_version_that_has_custom_language_and_says_how_to_enable_it()
    {
        // language: custom is an alpha feature of azd 1.20.0+: without the version and the switch, azd refuses the project.
        Assert.Matches(@"requiredVersions:\s*\n\s+azd:\s*"">= 1\.20\.0""", AzureYaml);
        Assert.Matches(@"language:\s*custom", AzureYaml);
        Assert.Contains("azd config set alpha.language.custom on", AzureYaml, StringComparison.Ordinal);
        var deploy = File.ReadAllText(DeploymentFiles.InRepo("docs", "deploy.md"));
        Assert.Contains("azd config set alpha.language.custom on", deploy, StringComparison.Ordinal);
        Assert.Contains("AZD_ALPHA_ENABLE_LANGUAGE_CUSTOM", deploy, StringComparison.Ordinal);
        Assert.Contains("1.20.0", deploy, StringComparison.Ordinal);
    }

    [Fact]
    public void azd_up_provisions_before_it_packages_so_the_web_build_sees_the_api_url()
    {
        var steps = Regex.Match(AzureYaml, @"workflows:\s*\n\s+up:\s*\n\s+steps:\s*\n((?:\s+- azd: .+\n?)+)");
        Assert.True(steps.Success, "azure.yaml has no workflows.up.steps");
        var order = Regex.Matches(steps.Groups[1].Value, @"- azd: (.+)").Select(m => m.Groups[1].Value.Trim()).ToList();
        Assert.Equal(["provision", "package --all", "deploy --all"], order);
    }

    [Fact]
    public async Task the_web_prebuild_hook_refuses_an_empty_api_url_and_writes_a_given_one()
    {
        Assert.Matches(@"run:\s*\./scripts/api-root\.sh", AzureYaml);
        var script = DeploymentFiles.InRepo("web", "scripts", "api-root.sh");
        var folder = Path.Combine(Path.GetTempPath(), "crm-api-root", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var (refused, refusal) = await Command.RunAsync("sh", [script], folder, TimeSpan.FromSeconds(30), new Dictionary<string, string?> { ["SERVICE_API_URI"] = "" });
            Assert.NotEqual(0, refused);
            Assert.Contains("azd provision", refusal, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(folder, ".env.production.local")));

            var (written, _) = await Command.RunAsync("sh", [script], folder, TimeSpan.FromSeconds(30),
                new Dictionary<string, string?> { ["SERVICE_API_URI"] = "https://func-crm-abc.azurewebsites.net" });
            Assert.Equal(0, written);
            Assert.Equal("VITE_API_ROOT=https://func-crm-abc.azurewebsites.net\n", File.ReadAllText(Path.Combine(folder, ".env.production.local")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void the_web_app_falls_back_to_its_own_origin_when_the_api_root_is_empty()
    {
        // An empty VITE_API_ROOT must not win over the page's origin (the logic is unit-tested in web/src/lib/apiRoot.test.ts).
        var api = File.ReadAllText(DeploymentFiles.InRepo("web", "src", "api.ts"));
        Assert.Contains("apiRoot(import.meta.env.VITE_API_ROOT", api, StringComparison.Ordinal);
        Assert.DoesNotContain("VITE_API_ROOT as string | undefined) ??", api, StringComparison.Ordinal);
        Assert.True(File.Exists(DeploymentFiles.InRepo("web", "src", "lib", "apiRoot.test.ts")));
    }

    [Fact]
    public void the_static_web_app_answers_client_side_routes_with_index_html()
    {
        // web/public is copied into dist/ by Vite; the Static Web App reads staticwebapp.config.json from there.
        var config = DeploymentFiles.ReadJson(DeploymentFiles.InRepo("web", "public", "staticwebapp.config.json"));
        Assert.Equal("/index.html", config["navigationFallback"]?["rewrite"]?.GetValue<string>());
        var excluded = config["navigationFallback"]!["exclude"]!.AsArray().Select(e => e!.GetValue<string>()).ToList();
        Assert.Contains("/assets/*", excluded);
        Assert.DoesNotContain(excluded, e => e is "/*" or "/pipeline" or "/deals/*");
    }

    [Fact]
    public void the_platform_answers_cors_with_credentials_for_the_web_apps_origin()
    {
        // Preflights never reach the handler (no function accepts OPTIONS), so the platform's CORS answers them;
        // SignalR's browser client negotiates with credentials and needs Access-Control-Allow-Credentials.
        var site = Resources().Single(r => r["type"]!.GetValue<string>() == "Microsoft.Web/sites");
        var cors = site["properties"]!["siteConfig"]!["cors"]!;
        Assert.True(cors["supportCredentials"]!.GetValue<bool>());
        Assert.Contains("corsAllowedOrigins", cors["allowedOrigins"]!.ToJsonString(), StringComparison.Ordinal);
        // The one exception is Web PubSub's upstream: its OPTIONS is the service's abuse-protection handshake, which
        // carries no Origin and so is no CORS preflight (the platform still answers those).
        Assert.All(FunctionDefinition.ReadAll(DeploymentFiles.InRepo("functions")).Where(f => f.IsHttp && f.Name != "LiveQueryWebPubSub"), f =>
            Assert.DoesNotContain("OPTIONS", f.Methods!));
        var main = File.ReadAllText(DeploymentFiles.InRepo("infra", "main.bicep"));
        Assert.Matches(@"corsAllowedOrigins:\s*union\(\[web\.outputs\.uri\], corsAllowedOrigins\)", main);
    }

    [Fact]
    public void cosmos_role_assignments_run_one_at_a_time_after_every_container()
    {
        // Cosmos answers 412 to role assignments that overlap each other or a container creation.
        var assignments = Resources().Single(r => r["type"]!.GetValue<string>() == "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments");
        Assert.Equal("serial", assignments["copy"]!["mode"]!.GetValue<string>());
        Assert.Equal(1, assignments["copy"]!["batchSize"]!.GetValue<int>());
        var dependsOn = assignments["dependsOn"]!.AsArray().Select(d => d!.GetValue<string>()).ToList();
        Assert.Contains("containers", dependsOn);
        Assert.Contains("bookkeeping", dependsOn);
        Assert.Contains(dependsOn, d => d.Contains("'leases'", StringComparison.Ordinal));
    }

    [Fact]
    public void parameters_match_what_flex_consumption_accepts()
    {
        var parameters = build.Template!["parameters"]!;
        Assert.Equal(1, parameters["maximumInstanceCount"]!["minValue"]!.GetValue<int>());
        var regions = parameters["location"]!["allowedValues"]!.AsArray().Select(v => v!.GetValue<string>()).ToList();
        Assert.Contains("eastus", regions);
        Assert.Contains("northeurope", regions);
        // Regions without Flex Consumption at its release (the deployment would fail at the plan).
        Assert.DoesNotContain("westeurope", regions);
        Assert.DoesNotContain("centralus", regions);
    }

    [Fact]
    public void the_signalr_role_is_the_least_that_allows_rest_sends_and_client_tokens()
    {
        var signalr = File.ReadAllText(DeploymentFiles.InRepo("infra", "modules", "signalr.bicep"));
        const string RestApiOwner = "fd53cd77-2268-407a-8f46-7e7863d0f521";
        const string ServiceOwner = "7e4f1700-ea5a-4f59-8f37-079cfe29dce3";
        Assert.Contains($"'{RestApiOwner}'", signalr, StringComparison.Ordinal);
        Assert.DoesNotContain(ServiceOwner, build.Template!.ToJsonString(), StringComparison.Ordinal);
        Assert.Contains(RestApiOwner, build.Template!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public void deploy_guide_names_the_steps_and_what_azd_down_leaves_behind()
    {
        var deploy = File.ReadAllText(DeploymentFiles.InRepo("docs", "deploy.md"));
        foreach (var step in new[] { "azd auth login", "azd env set PARSE_MASTER_KEY", "azd up", "azd down --purge" })
            Assert.Contains(step, deploy, StringComparison.Ordinal);
        Assert.Contains("soft delete", deploy, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void cosmos_keeps_continuous_backup_for_point_in_time_restore()
    {
        var account = Resources().Single(r => r["type"]!.GetValue<string>() == "Microsoft.DocumentDB/databaseAccounts");
        var backup = account["properties"]!["backupPolicy"]!;
        Assert.Equal("Continuous", backup["type"]!.GetValue<string>());
        Assert.Equal("Continuous7Days", backup["continuousModeProperties"]!["tier"]!.GetValue<string>());
        Assert.Contains("point-in-time", File.ReadAllText(DeploymentFiles.InRepo("docs", "operations.md")), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Every resource of the compiled template, module deployments flattened.</summary>
    private List<JsonNode> Resources()
    {
        Assert.NotNull(build.Template);
        var found = new List<JsonNode>();
        void Walk(JsonNode? resources)
        {
            IEnumerable<JsonNode?> items = resources switch
            {
                JsonArray a => a,
                JsonObject o => o.Select(p => p.Value),
                _ => [],
            };
            foreach (var r in items.OfType<JsonNode>())
            {
                if (r["type"]?.GetValue<string>() == "Microsoft.Resources/deployments") Walk(r["properties"]?["template"]?["resources"]);
                else found.Add(r);
            }
        }
        Walk(build.Template["resources"]);
        return found;
    }
}
