using Crm.Functions.Core;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Crm.Functions.Tests.Deployment;

/// <summary>Compiles infra/main.bicep once with the Bicep CLI from NuGet; the tests read its output.</summary>
public sealed class BicepBuildFixture : IAsyncLifetime
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "crm-bicep-tests", Guid.NewGuid().ToString("N"));

    public int ExitCode { get; private set; }
    public string Output { get; private set; } = "";
    public JsonNode? Template { get; private set; }

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_folder);
        var outFile = Path.Combine(_folder, "main.json");
        (ExitCode, Output) = await Bicep.RunAsync("build", DeploymentFiles.InRepo("infra", "main.bicep"), "--outfile", outFile);
        if (File.Exists(outFile)) Template = DeploymentFiles.ReadJson(outFile);
    }

    public Task DisposeAsync()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
        return Task.CompletedTask;
    }
}

internal static class Bicep
{
    public static Task<(int ExitCode, string Output)> RunAsync(params string[] args)
    {
        var cli = DeploymentFiles.BicepCli;
        // NuGet extraction does not keep the executable bit everywhere.
        if (OperatingSystem.IsLinux()) File.SetUnixFileMode(cli, File.GetUnixFileMode(cli) | UnixFileMode.UserExecute);
        return Command.RunAsync(cli, args, DeploymentFiles.RepositoryRoot, TimeSpan.FromMinutes(3));
    }

    /// <summary>Bicep prints diagnostics as "path(line,col) : Warning rule: message" (or Error).</summary>
    public static IReadOnlyList<string> Diagnostics(string output) =>
        output.Split('\n').Where(l => Regex.IsMatch(l, @"\)\s*:\s*(Warning|Error)\b") || l.TrimStart().StartsWith("Error", StringComparison.Ordinal)).ToList();
}

public sealed class InfraTests(BicepBuildFixture build) : IClassFixture<BicepBuildFixture>
{
    /// <summary>Settings the app will read once the Cosmos store lands; the infrastructure sets them already.</summary>
    private static readonly string[] PendingParseSettings = [];

    [Fact]
    public void main_bicep_builds_with_no_errors_or_warnings()
    {
        Assert.True(build.ExitCode == 0, build.Output);
        Assert.Empty(Bicep.Diagnostics(build.Output));
        Assert.NotNull(build.Template);
        Assert.Contains("subscriptionDeploymentTemplate", build.Template["$schema"]!.GetValue<string>(), StringComparison.Ordinal);
        var outputs = build.Template["outputs"]!.AsObject();
        Assert.Contains("SERVICE_API_URI", outputs.Select(o => o.Key));
        Assert.Contains("PARSE_SERVER_URL", outputs.Select(o => o.Key));
    }

    [Fact]
    public async Task main_bicep_lints_with_no_errors_or_warnings()
    {
        var (exitCode, output) = await Bicep.RunAsync("lint", DeploymentFiles.InRepo("infra", "main.bicep"));
        Assert.True(exitCode == 0, output);
        Assert.Empty(Bicep.Diagnostics(output));
    }

    [Fact]
    public async Task the_linter_reports_what_the_tests_look_for()
    {
        // Guards the check above: a template with an unused parameter must produce a diagnostic line.
        var probe = Path.Combine(Path.GetTempPath(), $"crm-bicep-probe-{Guid.NewGuid():N}.bicep");
        File.WriteAllText(probe, "param unused string\n");
        try
        {
            var (_, output) = await Bicep.RunAsync("lint", probe);
            Assert.Single(Bicep.Diagnostics(output), l => l.Contains("no-unused-params", StringComparison.Ordinal));
        }
        finally { File.Delete(probe); }
    }

    [Fact]
    public void azd_parameters_file_gives_every_parameter_without_a_default()
    {
        Assert.NotNull(build.Template);
        var given = DeploymentFiles.ReadJson(DeploymentFiles.InRepo("infra", "main.parameters.json"))["parameters"]!.AsObject();
        var declared = build.Template["parameters"]!.AsObject();
        foreach (var (name, definition) in declared)
        {
            if (definition!["defaultValue"] is null) Assert.True(given.ContainsKey(name), $"main.parameters.json does not give '{name}'.");
        }
        foreach (var (name, _) in given) Assert.True(declared.ContainsKey(name), $"main.parameters.json gives '{name}', which main.bicep does not declare.");
        Assert.Equal("${PARSE_MASTER_KEY}", given["parseMasterKey"]!["value"]!.GetValue<string>());
    }

    [Fact]
    public void cosmos_indexing_policy_has_the_composite_indexes_the_crm_queries_need()
    {
        var indexing = DeploymentFiles.ReadJson(DeploymentFiles.InRepo("infra", "cosmos-indexing.json"));
        var policy = indexing["default"]!;
        Assert.Contains("/*", policy["includedPaths"]!.AsArray().Select(p => p!["path"]!.GetValue<string>()));
        Assert.Contains("/\"_etag\"/?", policy["excludedPaths"]!.AsArray().Select(p => p!["path"]!.GetValue<string>()));

        static string[] Composites(JsonNode? container) => (container?["compositeIndexes"]?.AsArray() ?? [])
            .Select(c => string.Join(",", c!.AsArray().Select(p => $"{p!["path"]} {p["order"]}"))).ToArray();
        var deal = Composites(indexing["classes"]?["Deal"]);
        Assert.Contains("/data/stage ascending,/data/expectedCloseDate/iso ascending", deal);
        Assert.Contains("/data/stage ascending,/updatedAt descending", deal);
        Assert.Contains("/data/relatedTo/objectId ascending,/data/dueDate/iso ascending", Composites(indexing["classes"]?["Activity"]));

        // A policy for a container the infrastructure does not create would be silently ignored.
        Assert.NotNull(build.Template);
        var containers = FindParameterDefault(build.Template, "classContainers")!.AsArray().Select(c => c!.GetValue<string>()).ToList();
        foreach (var name in new[] { "_User", "_Role", "_Session", "Company", "Contact", "Deal", "Activity" })
            Assert.Contains(name, containers);
        foreach (var (name, _) in indexing["classes"]!.AsObject()) Assert.Contains(name, containers);
        // The store's bookkeeping containers, by the names its code uses.
        var bicep = File.ReadAllText(DeploymentFiles.InRepo("infra", "modules", "cosmos.bicep"));
        foreach (var name in new[] { global::Crm.Functions.Storage.Cosmos.CosmosObjectStore.SchemasContainer, global::Crm.Functions.Storage.Cosmos.CosmosObjectStore.RelationsContainer, global::Crm.Functions.Storage.Cosmos.CosmosObjectStore.UniqueContainer })
            Assert.Contains($"name: '{name}'", bicep);
    }

    [Fact]
    public void every_connection_the_functions_use_is_identity_based_in_infra_and_present_in_the_sample()
    {
        var infraSettings = InfraAppSettings();
        var sample = SampleSettings();
        var connections = new HashSet<string>(StringComparer.Ordinal) { "AzureWebJobsStorage" };
        foreach (var function in FunctionDefinition.ReadAll(DeploymentFiles.InRepo("functions")))
        {
            foreach (var binding in function.Bindings)
            {
                var type = FunctionDefinition.Text(binding, "type") ?? "";
                var connection = FunctionDefinition.Text(binding, "connection") ?? FunctionDefinition.Text(binding, "connectionStringSetting")
                    ?? (type.StartsWith("signalR", StringComparison.Ordinal) ? "AzureSignalRConnectionString" : null);
                if (connection is not null) connections.Add(connection);
            }
        }
        foreach (var connection in connections)
        {
            // Identity-based: "<conn>__accountEndpoint" / "__serviceUri" / "__accountName" plus credential, never a connection string.
            Assert.DoesNotContain(connection, infraSettings);
            Assert.Contains(infraSettings, s => s.StartsWith(connection + "__", StringComparison.Ordinal));
            Assert.Contains(sample.Keys, s => s == connection || s.StartsWith(connection + "__", StringComparison.Ordinal));
        }
        var infraText = string.Concat(Directory.GetFiles(DeploymentFiles.InRepo("infra"), "*.bicep", SearchOption.AllDirectories).Select(File.ReadAllText));
        Assert.DoesNotContain("AccountKey=", infraText, StringComparison.Ordinal);
        Assert.DoesNotContain("AccessKey=", infraText, StringComparison.Ordinal);
        Assert.DoesNotContain("listKeys(", infraText, StringComparison.Ordinal);
    }

    [Fact]
    public void the_app_and_the_signalr_binding_reach_the_service_with_the_same_identity_and_a_role_that_allows_both()
    {
        var functionApp = File.ReadAllText(DeploymentFiles.InRepo("infra", "modules", "function-app.bicep"));
        // The output binding's identity-based connection (extension bundle form: serviceUri + credential + clientId).
        Assert.Matches(@"AzureSignalRConnectionString__serviceUri:\s*signalRServiceUri\s", functionApp);
        Assert.Matches(@"AzureSignalRConnectionString__credential:\s*'managedidentity'", functionApp);
        Assert.Matches(@"AzureSignalRConnectionString__clientId:\s*identityClientId\s", functionApp);

        // The app's own setting, by the name it reads, in the service's connection-string format: same endpoint, same identity, no key.
        var name = global::Crm.Functions.Realtime.SignalRConnectionString.Setting.Replace(":", "__", StringComparison.Ordinal);
        Assert.Contains(name, InfraAppSettings());
        var value = Regex.Match(functionApp, name + @":\s*'([^']*)'").Groups[1].Value;
        var parsed = global::Crm.Functions.Realtime.SignalRConnectionString.Parse(value
            .Replace("${signalRServiceUri}", "https://sigr.service.signalr.net", StringComparison.Ordinal)
            .Replace("${identityClientId}", "client-id", StringComparison.Ordinal))!;
        Assert.Equal("https://sigr.service.signalr.net/", parsed.Endpoint.ToString());
        Assert.Equal("azure.msi", parsed.AuthType);
        Assert.Equal("client-id", parsed.ClientId);
        Assert.Null(parsed.AccessKey);
        // Locally the setting is empty: the app serves its own hub.
        Assert.Null(global::Crm.Functions.Realtime.SignalRConnectionString.Parse(SampleSettings()[name]));

        // The service: Serverless, keys off, and the app's identity holds "SignalR REST API Owner" (REST sends and
        // :generateToken); "SignalR App Server" allows neither.
        var signalr = File.ReadAllText(DeploymentFiles.InRepo("infra", "modules", "signalr.bicep"));
        Assert.Matches(@"disableLocalAuth:\s*true", signalr);
        Assert.Matches(@"flag:\s*'ServiceMode',\s*value:\s*'Serverless'", signalr);
        Assert.Contains("'fd53cd77-2268-407a-8f46-7e7863d0f521'", signalr);
        var main = File.ReadAllText(DeploymentFiles.InRepo("infra", "main.bicep"));
        Assert.Matches(@"appPrincipalId:\s*identity\.outputs\.principalId", main);
        Assert.Matches(@"identityClientId:\s*identity\.outputs\.clientId", main);
        Assert.NotNull(build.Template);
        Assert.Contains("fd53cd77-2268-407a-8f46-7e7863d0f521", build.Template.ToJsonString(), StringComparison.Ordinal);

        // Every signalR output binding sends on the app's hub through that connection, under the name the app answers with.
        var hub = new global::Crm.Functions.Realtime.RealtimeSettings().HubName;
        var outputs = FunctionDefinition.ReadAll(DeploymentFiles.InRepo("functions"))
            .SelectMany(f => f.Bindings).Where(b => FunctionDefinition.Text(b, "type") == "signalR").ToList();
        Assert.NotEmpty(outputs);
        Assert.All(outputs, b =>
        {
            Assert.Equal(hub, FunctionDefinition.Text(b, "hubName"));
            Assert.Equal("out", FunctionDefinition.Text(b, "direction"));
            Assert.Equal(global::Crm.Functions.Realtime.RealtimeApi.OutputBinding, FunctionDefinition.Text(b, "name"));
            Assert.Equal("AzureSignalRConnectionString", FunctionDefinition.Text(b, "connectionStringSetting") ?? "AzureSignalRConnectionString");
        });
    }

    [Fact]
    public void infra_and_sample_set_parse_settings_by_the_names_the_app_reads()
    {
        var known = ParseSettingNames().ToHashSet(StringComparer.Ordinal);
        var infra = InfraAppSettings();
        foreach (var name in infra.Concat(SampleSettings().Keys).Where(n => n.StartsWith("Parse__", StringComparison.Ordinal)))
            Assert.True(known.Contains(name) || known.Contains(Regex.Replace(name, @"__\d+$", "__0")) || known.Contains(Regex.Replace(name, @"__[^_]+$", "__*"))
                        || PendingParseSettings.Contains(name), $"'{name}' is not a setting the app reads.");
        foreach (var name in new[] { "Parse__AppId", "Parse__MasterKey", "Parse__Store", "Parse__PublicServerUrl", "Parse__Cosmos__Endpoint", "Parse__Cosmos__Database" })
            Assert.Contains(name, infra);
        var functionApp = File.ReadAllText(DeploymentFiles.InRepo("infra", "modules", "function-app.bicep"));
        Assert.Matches(@"Parse__MasterKey:\s*'@Microsoft\.KeyVault\(SecretUri=", functionApp);
        Assert.Matches(@"Parse__Store:\s*'cosmos'", functionApp);
    }

    [Fact]
    public void local_settings_sample_is_plain_json_with_every_setting_the_app_reads()
    {
        var sample = SampleSettings();
        Assert.Equal("custom", sample["FUNCTIONS_WORKER_RUNTIME"]);
        foreach (var name in ParseSettingNames())
            Assert.True(name.EndsWith("__*", StringComparison.Ordinal)
                ? sample.Keys.Any(k => k.StartsWith(name[..^1], StringComparison.Ordinal))
                : sample.ContainsKey(name), $"local.settings.sample.json lacks {name}.");
    }

    /// <summary>Environment-variable names of every ParseSettings leaf: Parse__AppId, Parse__Limits__MaxLimit, Parse__MasterKeyIps__0, …</summary>
    private static IEnumerable<string> ParseSettingNames()
    {
        static IEnumerable<string> Walk(Type type, string prefix)
        {
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
            {
                var name = $"{prefix}__{property.Name}";
                var t = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
                if (t == typeof(string) || t.IsPrimitive || t.IsEnum) yield return name;
                else if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(List<>)) yield return name + "__0";
                else if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(Dictionary<,>)) yield return name + "__*"; // keyed by class name
                else foreach (var nested in Walk(t, name)) yield return nested;
            }
        }
        return Walk(typeof(ParseSettings), ParseSettings.Section);
    }

    /// <summary>Names set by the function app's `appsettings` config resource.</summary>
    private static HashSet<string> InfraAppSettings()
    {
        var text = File.ReadAllText(DeploymentFiles.InRepo("infra", "modules", "function-app.bicep"));
        var start = text.IndexOf("name: 'appsettings'", StringComparison.Ordinal);
        Assert.True(start >= 0, "function-app.bicep has no appsettings resource.");
        var end = text.IndexOf("\n}\n", start, StringComparison.Ordinal);
        var block = text[start..end];
        return Regex.Matches(block, @"^\s*([A-Za-z][A-Za-z0-9_]*)\s*:", RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value).Where(n => n is not ("name" or "properties")).ToHashSet(StringComparer.Ordinal);
    }

    private static Dictionary<string, string> SampleSettings()
    {
        // JsonNode.Parse rejects comments and trailing commas, as the Functions tooling does.
        var values = DeploymentFiles.ReadJson(DeploymentFiles.InRepo("local.settings.sample.json"))["Values"]!.AsObject();
        return values.ToDictionary(v => v.Key, v => v.Value!.GetValue<string>(), StringComparer.Ordinal);
    }

    private static JsonNode? FindParameterDefault(JsonNode node, string parameter)
    {
        if (node is JsonObject obj)
        {
            if (obj["parameters"] is JsonObject parameters && parameters[parameter]?["defaultValue"] is { } found) return found;
            foreach (var (_, child) in obj)
                if (child is not null && FindParameterDefault(child, parameter) is { } inner) return inner;
        }
        else if (node is JsonArray array)
        {
            foreach (var child in array)
                if (child is not null && FindParameterDefault(child, parameter) is { } inner) return inner;
        }
        return null;
    }
}
