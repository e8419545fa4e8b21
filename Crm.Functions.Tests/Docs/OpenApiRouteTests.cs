using Crm.Functions.Docs;
using Crm.Functions.Http;
using Crm.Functions.Tests.CrmTemplate;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Crm.Functions.Tests.Docs;

/// <summary>A route cannot exist without its documentation: the OpenAPI document is generated from the route table.</summary>
public sealed class OpenApiRouteTests
{
    [Fact]
    public void every_parse_route_and_app_endpoint_has_its_documentation_and_no_documentation_outlives_its_route()
    {
        using var server = Tools.TemplateServer();
        var routes = server.Services.GetRequiredService<ParseRouter>().Routes;
        Assert.NotEmpty(routes);
        Assert.Empty(RouteDocs.Missing(routes));
        Assert.Empty(RouteDocs.Stale(routes));
        Assert.Empty(OpenApiDocument.UndocumentedEndpoints(server.Services.GetRequiredService<EndpointDataSource>().Endpoints));
    }

    [Fact]
    public void a_route_added_without_documentation_is_named_as_missing()
    {
        using var server = Tools.TemplateServer();
        var routes = server.Services.GetRequiredService<ParseRouter>().Routes.ToList();
        var router = new ParseRouter();
        foreach (var route in routes) router.Add(route.Function, string.Join(',', route.Methods), route.Template, route.Handler, route.MasterOnly);
        router.Add("hooks", "GET,PUT", "/hooks/undocumented", (_, _) => Task.FromResult(ApiResult.Ok(new System.Text.Json.Nodes.JsonObject())), masterOnly: true);
        Assert.Equal(["hooks: GET /hooks/undocumented", "hooks: PUT /hooks/undocumented"], RouteDocs.Missing(router.Routes));
    }
}
