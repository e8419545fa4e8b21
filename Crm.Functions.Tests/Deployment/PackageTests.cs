using Crm.Functions.Core;
using System.IO.Compression;
using System.Text.Json.Nodes;
using Crm.Functions.Http;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Tests.Deployment;

/// <summary>
/// The deployment zip as the Functions host reads it: host.json and &lt;Name&gt;/function.json at the root,
/// the custom handler executable where host.json says, and the HTTP functions and the app's Parse route
/// table in agreement both ways.
/// </summary>
[Collection(PackageTestGroup.Name)]
public sealed class PackageTests(PackageFixture package)
{
    [Fact]
    public void zip_has_host_json_every_function_folder_and_the_app_at_its_root()
    {
        using var zip = ZipFile.OpenRead(package.ZipPath);
        var entries = zip.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("host.json", entries);
        var repoFunctions = DeploymentFiles.FunctionDefinitions().Keys.Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(repoFunctions);
        foreach (var name in repoFunctions) Assert.Contains($"{name}/function.json", entries);
        var zipFunctions = entries.Where(e => e.EndsWith("/function.json", StringComparison.Ordinal))
            .Select(e => e[..e.IndexOf('/', StringComparison.Ordinal)]).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(repoFunctions, zipFunctions);
        Assert.Contains("app/appsettings.json", entries);
        Assert.Contains("app/Crm.Functions.dll", entries);
        // Self-contained: the runtime ships in the package, nothing is expected on the worker.
        Assert.Contains("app/libcoreclr.so", entries);
        Assert.DoesNotContain(entries, e => e.EndsWith("local.settings.json", StringComparison.Ordinal) || e.EndsWith(".db", StringComparison.Ordinal));
        // The web app is the Static Web App's to serve; building it here too would race azd's parallel web build.
        Assert.DoesNotContain(entries, e => e.StartsWith("app/wwwroot/", StringComparison.Ordinal));
    }

    [Fact]
    public void host_json_names_an_executable_custom_handler_inside_the_package()
    {
        var host = DeploymentFiles.ReadJson(Path.Combine(package.Extracted, "host.json"));
        Assert.Equal("2.0", host["version"]?.GetValue<string>());
        Assert.Equal("", host["extensions"]?["http"]?["routePrefix"]?.GetValue<string>());
        var handler = host["customHandler"]!;
        Assert.True(handler["enableForwardingHttpRequest"]?.GetValue<bool>());
        var executable = handler["description"]!["defaultExecutablePath"]!.GetValue<string>();
        var workingDirectory = handler["description"]!["workingDirectory"]!.GetValue<string>();
        Assert.Equal("app/Crm.Functions", executable);
        Assert.True(Directory.Exists(Path.Combine(package.Extracted, workingDirectory)), $"workingDirectory '{workingDirectory}' is not in the package.");

        using var zip = ZipFile.OpenRead(package.ZipPath);
        var entry = zip.GetEntry(executable);
        Assert.NotNull(entry);
        // Unix permissions live in the high 16 bits of the external attributes; the host runs the file as is.
        var mode = (UnixFileMode)((entry.ExternalAttributes >> 16) & 0x1FF);
        Assert.True(mode.HasFlag(UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute), $"{executable} has mode {mode}.");
        Assert.Equal("ELF", System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(Path.Combine(package.Extracted, executable)).AsSpan(1, 3)));
    }

    [Fact]
    public void every_parse_route_is_deployed_as_its_function_with_its_methods_and_post()
    {
        using var server = new CrmServer();
        var (router, prefix) = RouteTable(server);
        var routes = router.Routes;
        var functions = FunctionDefinition.ReadAll(package.Extracted).Where(f => f.IsHttp).ToList();
        Assert.NotEmpty(routes);
        foreach (var route in routes)
        {
            var path = prefix + FunctionDefinition.SamplePaths(route.Template).Single();
            var serving = functions.Where(f => f.Matches(path)).Select(f => f.Name).ToList();
            // One function per path: the host must not have to choose, and it must be the route's own.
            Assert.True(serving.Count == 1 && serving[0] == route.Function,
                $"{string.Join(',', route.Methods)} {route.Template} (function '{route.Function}') is served by [{string.Join(", ", serving)}].");
            var function = functions.Single(f => f.Name == route.Function);
            // The JS SDK sends every call as POST with _method in the body.
            foreach (var method in route.Methods.Append("POST"))
                Assert.True(function.Methods!.Contains(method.ToUpperInvariant()), $"Function '{function.Name}' lacks method {method} for {route.Template}.");
        }
    }

    [Fact]
    public void every_http_function_serves_parse_routes_of_its_own_name()
    {
        using var server = new CrmServer();
        var (router, prefix) = RouteTable(server);
        var routes = router.Routes;
        // Under the mount path, functions forward Parse routes, except those forwarding the app's own endpoints there
        // (the account pages, apps/{appId}/…), which the next test checks against the endpoints.
        var functions = FunctionDefinition.ReadAll(package.Extracted).Where(f => f.IsHttp && f.Route?.StartsWith(prefix, StringComparison.Ordinal) == true
            && !AppEndpoints(server).Any(e => Matches(f.Route!, Sample(e.Route)))).ToList();
        Assert.NotEmpty(functions);
        foreach (var function in functions)
        {
            Assert.Contains(function.Name, routes.Select(r => r.Function));
            Assert.NotNull(function.Route);
            Assert.StartsWith(prefix, function.Route, StringComparison.Ordinal);
            foreach (var path in FunctionDefinition.SamplePaths(function.Route))
            {
                var relative = "/" + path[prefix.Length..];
                var served = function.Methods!.Select(m => router.Match(m, relative)).Where(m => m is not null).Select(m => m!.Value.Route.Function).ToList();
                Assert.True(served.Count > 0 && served.All(f => f == function.Name),
                    $"Function '{function.Name}' forwards {path}, which the app serves as [{string.Join(", ", served)}].");
            }
        }
    }

    [Fact]
    public void every_function_has_one_trigger_and_http_functions_only_an_http_output()
    {
        var functions = FunctionDefinition.ReadAll(package.Extracted);
        Assert.NotEmpty(functions);
        foreach (var function in functions)
        {
            Assert.True(function.Triggers.Count == 1, $"Function '{function.Name}' has {function.Triggers.Count} triggers.");
            foreach (var binding in function.Bindings)
            {
                foreach (var property in new[] { "type", "direction", "name" })
                    Assert.False(string.IsNullOrEmpty(FunctionDefinition.Text(binding, property)), $"A binding of '{function.Name}' has no {property}.");
            }
            if (!function.IsHttp) continue;
            // enableForwardingHttpRequest forwards only functions made of an HTTP trigger and an HTTP output.
            Assert.Equal(2, function.Bindings.Count);
            Assert.Equal("http", FunctionDefinition.Text(function.Bindings.Single(b => FunctionDefinition.Text(b, "direction") == "out"), "type"));
            Assert.Equal("anonymous", FunctionDefinition.Text(function.Triggers[0], "authLevel"));
        }
    }

    [Fact]
    public void every_binding_names_the_properties_its_type_requires()
    {
        var required = new Dictionary<string, string[]>(StringComparer.Ordinal)
        {
            ["httpTrigger"] = ["route", "authLevel"],
            ["http"] = [],
            ["cosmosDBTrigger"] = ["connection", "databaseName", "containerName"],
            ["signalR"] = ["hubName"],
            ["signalRConnectionInfo"] = ["hubName"],
            ["signalRTrigger"] = ["hubName", "category", "event"],
        };
        var bindings = FunctionDefinition.ReadAll(package.Extracted)
            .SelectMany(f => f.Bindings.Select(b => (Function: f.Name, Binding: b)))
            .ToList();
        Assert.NotEmpty(bindings);
        foreach (var (function, binding) in bindings)
        {
            var type = FunctionDefinition.Text(binding, "type")!;
            Assert.True(required.ContainsKey(type), $"Function '{function}' uses binding type '{type}', which this test does not know yet.");
            foreach (var property in required[type])
                Assert.False(string.IsNullOrEmpty(FunctionDefinition.Text(binding, property)), $"The {type} binding of '{function}' has no {property}.");
            if (type != "cosmosDBTrigger") continue;
            // Keys are off on the account, so nothing can create containers at run time: the lease container
            // must be the one the infrastructure creates.
            Assert.Equal("leases", FunctionDefinition.Text(binding, "leaseContainerName") ?? "leases");
            Assert.NotEqual(true, binding["createLeaseContainerIfNotExists"]?.GetValue<bool>());
        }
    }

    [Fact]
    public void azure_yaml_deploys_the_zip_publish_sh_builds_to_a_function_app()
    {
        // No YAML parser in the suite: azure.yaml is flat enough to read as "key: value" lines, grouped by
        // service (a two-space-indented "name:" line under services starts a service's block).
        var services = new Dictionary<string, List<(string Key, string Value)>>(StringComparer.Ordinal);
        var top = new List<(string Key, string Value)>();
        var current = top;
        foreach (var raw in File.ReadAllLines(DeploymentFiles.InRepo("azure.yaml")))
        {
            var line = raw.Trim();
            if (line.StartsWith('#') || !line.Contains(':', StringComparison.Ordinal)) continue;
            var key = line[..line.IndexOf(':', StringComparison.Ordinal)];
            var value = line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
            if (raw.StartsWith("  ", StringComparison.Ordinal) && !raw.StartsWith("   ", StringComparison.Ordinal) && value.Length == 0)
                services[key] = current = [];
            else current.Add((key, value));
        }
        string Value(string service, string key) => Assert.Single(services[service], s => s.Key == key).Value;
        Assert.Equal("function", Value("api", "host"));
        Assert.Equal("custom", Value("api", "language"));
        Assert.Equal("./scripts/publish.sh", Value("api", "run"));
        // publish.sh with no argument writes to artifacts/, the same file name the fixture's run produced.
        Assert.Equal("artifacts/" + Path.GetFileName(package.ZipPath), Value("api", "dist"));
        Assert.Contains(top, s => s.Key == "path" && s.Value == "infra");
        var main = File.ReadAllText(DeploymentFiles.InRepo("infra", "main.bicep"));
        Assert.Contains("azd-service-name': 'api'", main, StringComparison.Ordinal);
        // The web app: a Static Web App the infra tags for azd, built from web/ into dist/.
        Assert.Equal("staticwebapp", Value("web", "host"));
        Assert.Equal("./web", Value("web", "project"));
        Assert.True(File.Exists(DeploymentFiles.InRepo("web", "package.json")));
        Assert.Contains("'azd-service-name': 'web'", File.ReadAllText(DeploymentFiles.InRepo("infra", "modules", "staticwebapp.bicep")) + main, StringComparison.Ordinal);
    }

    /// <summary>The app's route table and the function route prefix its mount path implies ("parse/").</summary>
    /// <summary>
    /// Endpoints outside the Parse mount path (negotiate, GraphQL, docs) are ASP.NET endpoints: each deployed
    /// HTTP function outside parse/ must forward to at least one of them, and each of them must be reachable
    /// through a function — except SignalR hubs (Azure SignalR Service serves clients in Azure) and the
    /// invocation endpoints of trigger functions (the host calls /{FunctionName} itself).
    /// </summary>
    [Fact]
    public void http_functions_outside_the_parse_api_match_the_apps_own_endpoints_both_ways()
    {
        using var server = new CrmServer();
        var (_, prefix) = RouteTable(server);
        var all = FunctionDefinition.ReadAll(package.Extracted);
        var invoked = all.Where(f => !f.IsHttp).Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        var endpoints = AppEndpoints(server).Where(e => !invoked.Contains(e.Route)).ToList();
        var parseFunctions = server.Services.GetRequiredService<ParseRouter>().Routes.Select(r => r.Function).ToHashSet(StringComparer.Ordinal);
        var functions = all.Where(f => f.IsHttp && (f.Route?.StartsWith(prefix, StringComparison.Ordinal) == false || !parseFunctions.Contains(f.Name))).ToList();

        foreach (var function in functions)
        {
            // A catch-all function (docs/{*path}) must cover at least one endpoint; any other must hit one.
            var catchAll = function.Route!.IndexOf("{*", StringComparison.Ordinal);
            var sample = Sample(function.Route!);
            Assert.True(catchAll >= 0
                    ? endpoints.Any(e => e.Route.StartsWith(function.Route![..catchAll], StringComparison.Ordinal))
                    // A parameter may stand for several endpoints' literal segments (apps/{appId}/{page}).
                    : endpoints.Any(e => Matches(e.Route, sample) || Matches(function.Route!, Sample(e.Route))),
                $"Function '{function.Name}' forwards '{function.Route}', which the app has no endpoint for.");
        }
        foreach (var (route, methods) in endpoints)
        {
            var sample = Sample(route);
            var forwarding = functions.Where(f => Matches(f.Route!, sample)).ToList();
            Assert.True(forwarding.Count > 0, $"The app serves '{route}' but no function forwards it.");
            foreach (var method in methods)
                Assert.True(forwarding.Any(f => f.Methods!.Contains(method, StringComparer.OrdinalIgnoreCase)),
                    $"No function forwards {method} {route}.");
        }
    }

    /// <summary>The app's ASP.NET endpoints a function must forward (SignalR hubs are Azure SignalR Service's).</summary>
    private static List<(string Route, IReadOnlyList<string> Methods)> AppEndpoints(CrmServer server) =>
        server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<Microsoft.AspNetCore.SignalR.HubMetadata>() is null)
            .Select(e => (Route: (e.RoutePattern.RawText ?? "").Trim('/'), Methods: e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? (IReadOnlyList<string>)["GET"]))
            .Where(e => e.Route.Length > 0 && !e.Route.StartsWith("hubs/", StringComparison.Ordinal))
            .ToList();

    /// <summary>A concrete path a route template accepts: parameters filled in, optional ones left out.</summary>
    private static string Sample(string template) =>
        System.Text.RegularExpressions.Regex.Replace(template.Trim('/'), @"\{\*[^}]*\}|\{[^}]*\?\}|\{[^}]*\}",
            m => m.Value.StartsWith("{*", StringComparison.Ordinal) ? "a/b" : m.Value.EndsWith("?}", StringComparison.Ordinal) ? "" : "x1").TrimEnd('/');

    /// <summary>Whether a route template (ASP.NET or Functions syntax, which agree on these forms) accepts a path.</summary>
    private static bool Matches(string template, string path)
    {
        var pattern = System.Text.RegularExpressions.Regex.Replace(System.Text.RegularExpressions.Regex.Escape(template.Trim('/')),
            @"/?\\\{\\\*[^}]*}|/?\\\{[^}]*\?}|\\\{[^}]*}",
            // Catch-alls and optional parameters may be empty, taking their leading slash with them (as in ASP.NET routing).
            m => m.Value.Contains('*', StringComparison.Ordinal) ? "(/.*)?" : m.Value.EndsWith("?}", StringComparison.Ordinal) ? "(/[^/]+)?" : "[^/]+");
        return System.Text.RegularExpressions.Regex.IsMatch(path, "^" + pattern + "$");
    }

    private static (ParseRouter Router, string Prefix) RouteTable(CrmServer server)
    {
        var mount = server.Services.GetRequiredService<IOptions<ParseSettings>>().Value.MountPath;
        return (server.Services.GetRequiredService<ParseRouter>(), mount.TrimStart('/') + "/");
    }
}

/// <summary>Checks that need only the repository's files, not a publish.</summary>
public sealed class FunctionFolderTests
{
    [Fact]
    public void function_folders_hold_valid_function_json_named_like_azure_functions()
    {
        var definitions = DeploymentFiles.FunctionDefinitions();
        Assert.NotEmpty(definitions);
        foreach (var (name, json) in definitions)
        {
            // The host's rule for function names.
            Assert.Matches("^[A-Za-z][A-Za-z0-9_-]{0,127}$", name);
            Assert.IsType<JsonArray>(json["bindings"]);
        }
    }
}
