using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Crm.Functions.Http;
using Crm.Functions.Tests.CrmTemplate;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Extensions.DependencyInjection;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// The OpenAPI document was a hand-written route list that had drifted from the route table (no /batch, /schemas,
/// /roles, /sessions, …). It is now generated from the table: it lists exactly the routes the server serves, both ways.
/// </summary>
public sealed class OpenApiRouteDriftTests
{
    /// <summary>A concrete path for an OpenAPI path: each {parameter} filled with a sample value.</summary>
    private static string Sample(string path) => Regex.Replace(path, @"\{[^}]+\}", "x1");

    [Fact]
    public async Task openapi_lists_exactly_the_routes_the_server_serves()
    {
        using var server = Tools.TemplateServer();
        using var http = new HttpClient();
        using var response = await http.GetAsync(server.BaseUrl + "/docs/openapi.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var paths = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["paths"]!.AsObject();
        string[] verbs = ["get", "post", "put", "delete", "patch", "options"];
        var operations = paths.SelectMany(p => p.Value!.AsObject().Where(o => verbs.Contains(o.Key))
            .Select(o => (Path: p.Key, Method: o.Key.ToUpperInvariant(), AppRoot: p.Value!["servers"] is not null))).ToList();

        // Parse routes: every documented operation is served by a route, and every route's every method is documented.
        var router = server.Services.GetRequiredService<ParseRouter>();
        static string Name(ParseRoute route, string method) => $"{method} {route.Template} ({route.Function})";
        var documented = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (path, method, _) in operations.Where(o => !o.AppRoot))
        {
            var match = router.Match(method, Sample(path));
            Assert.True(match is not null, $"The document lists {method} {path}, which no route serves.");
            documented.Add(Name(match.Value.Route, method));
        }
        var routes = router.Routes.SelectMany(r => r.Methods.Select(m => Name(r, m.ToUpperInvariant()))).ToHashSet(StringComparer.Ordinal);
        Assert.Empty(routes.Except(documented));

        // The app's other endpoints (GraphQL, real time, docs; hubs are reached through /negotiate), both ways too.
        var endpoints = server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<Microsoft.AspNetCore.SignalR.HubMetadata>() is null)
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (Method: m,
                Template: e.RoutePattern.RawText!, Matcher: new TemplateMatcher(TemplateParser.Parse(e.RoutePattern.RawText!.TrimStart('/')), [])))).ToList();
        Assert.NotEmpty(endpoints);
        var appOperations = operations.Where(o => o.AppRoot).ToList();
        foreach (var (path, method, _) in appOperations)
            Assert.True(endpoints.Any(e => e.Method == method && e.Matcher.TryMatch(Sample(path), [])), $"The document lists {method} {path}, which no endpoint serves.");
        foreach (var (method, template, matcher) in endpoints)
            Assert.True(appOperations.Any(o => o.Method == method && matcher.TryMatch(Sample(o.Path), [])), $"The app serves {method} {template}, which the document omits.");
    }
}
