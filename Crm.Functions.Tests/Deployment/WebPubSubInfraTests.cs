using System.Text.Json.Nodes;

namespace Crm.Functions.Tests.Deployment;

/// <summary>
/// Parse LiveQuery in Azure, as compiled from infra/main.bicep: a Web PubSub service with keys off and an identity of
/// its own, a hub that allows anonymous connect and sends its events to the app's upstream function with that
/// identity's token, the app's identity holding "Web PubSub Service Owner" on the service, the app settings that point
/// the app at it and pin the service identity, and the <c>liveQueryServerURL</c> output.
/// </summary>
public sealed class WebPubSubInfraTests(BicepBuildFixture build) : IClassFixture<BicepBuildFixture>
{
    private const string ServiceOwner = "12cf5a90-567b-43ae-8102-96cf46c7d9b4";

    /// <summary>The compiled module (nested deployment) of main.bicep's module <paramref name="module"/> (symbolic name).</summary>
    private JsonObject Module(string module)
    {
        Assert.Equal(0, build.ExitCode);
        var deployment = build.Template!["resources"]![module]!.AsObject();
        Assert.Equal("Microsoft.Resources/deployments", deployment["type"]!.GetValue<string>());
        return deployment["properties"]!.AsObject();
    }

    private static JsonObject Resource(JsonObject module, string type)
    {
        var resources = module["template"]!["resources"]!;
        var all = resources is JsonArray array ? array.OfType<JsonObject>() : resources.AsObject().Select(p => p.Value).OfType<JsonObject>();
        return all.Single(r => r["type"]!.GetValue<string>() == type);
    }

    [Fact]
    public void the_service_has_keys_off_an_identity_of_its_own_and_the_app_may_send()
    {
        var module = Module("webPubSub");
        var service = Resource(module, "Microsoft.SignalRService/webPubSub");
        Assert.True(service["properties"]!["disableLocalAuth"]!.GetValue<bool>());
        Assert.False(service["properties"]!["disableAadAuth"]!.GetValue<bool>());
        Assert.Equal("UserAssigned", service["identity"]!["type"]!.GetValue<string>());
        // Its identity is the one the app pins (not the app's own identity: the app's tokens must not open the upstream).
        var parameters = module["parameters"]!.AsObject();
        Assert.Contains("webPubSubIdentity", parameters["serviceIdentityId"]!["value"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("'identity'", parameters["appPrincipalId"]!["value"]!.GetValue<string>(), StringComparison.Ordinal);

        var role = Resource(module, "Microsoft.Authorization/roleAssignments");
        Assert.Equal("ServicePrincipal", role["properties"]!["principalType"]!.GetValue<string>());
        Assert.Contains("appPrincipalId", role["properties"]!["principalId"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("webPubSubServiceOwner", role["properties"]!["roleDefinitionId"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(ServiceOwner, module["template"]!["variables"]!["webPubSubServiceOwner"]!.GetValue<string>());
        Assert.Contains("Microsoft.SignalRService/webPubSub", role["scope"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public void the_hub_allows_anonymous_clients_and_calls_the_upstream_function_with_a_managed_identity_token()
    {
        var module = Module("webPubSubHub");
        var hub = Resource(module, "Microsoft.SignalRService/webPubSub/hubs");
        Assert.Equal("allow", hub["properties"]!["anonymousConnectPolicy"]!.GetValue<string>());
        var handler = Assert.Single(hub["properties"]!["eventHandlers"]!.AsArray())!.AsObject();
        Assert.Equal("*", handler["userEventPattern"]!.GetValue<string>());
        Assert.Equal(["connect", "disconnected"], handler["systemEvents"]!.AsArray().Select(e => e!.GetValue<string>()));
        Assert.Equal("ManagedIdentity", handler["auth"]!["type"]!.GetValue<string>());
        Assert.Contains("upstreamAudience", handler["auth"]!["managedIdentity"]!["resource"]!.GetValue<string>(), StringComparison.Ordinal);

        // The handler's URL is the function that serves the upstream route, on the function app.
        var parameters = module["parameters"]!.AsObject();
        var upstream = parameters["upstreamUrl"]!["value"]!.GetValue<string>();
        Assert.Contains("functionApp", upstream, StringComparison.Ordinal);
        Assert.StartsWith("[format('{0}/realtime/webpubsub', reference('functionApp')", upstream, StringComparison.Ordinal);
        var function = DeploymentFiles.FunctionDefinitions()["LiveQueryWebPubSub"];
        var trigger = function["bindings"]!.AsArray().Single(b => b!["type"]!.GetValue<string>() == "httpTrigger")!;
        Assert.Equal("realtime/webpubsub", trigger["route"]!.GetValue<string>());
        Assert.Equal(["options", "post"], trigger["methods"]!.AsArray().Select(m => m!.GetValue<string>()));
        // The Functions host must not ask for a function key: the app checks the service's token itself.
        Assert.Equal("anonymous", trigger["authLevel"]!.GetValue<string>());

        // azd prints the URL a client configures.
        var output = build.Template!["outputs"]!["liveQueryServerURL"]!["value"]!.GetValue<string>();
        Assert.Contains("webPubSubHub", output, StringComparison.Ordinal);
        Assert.Contains("format('wss://{0}/client/hubs/{1}'", module["template"]!["outputs"]!["clientUrl"]!["value"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public void the_app_is_pointed_at_the_service_and_accepts_only_its_identitys_token_for_the_hubs_audience()
    {
        var functionApp = File.ReadAllText(DeploymentFiles.InRepo("infra", "modules", "function-app.bicep"));
        Assert.Matches(@"Parse__LiveQuery__WebPubSub__Endpoint:\s*liveQuery\.endpoint\s", functionApp);
        Assert.Matches(@"Parse__LiveQuery__WebPubSub__Hub:\s*liveQuery\.hub\s", functionApp);
        Assert.Matches(@"Parse__LiveQuery__WebPubSub__UpstreamAudience:\s*liveQuery\.upstreamAudience\s", functionApp);
        Assert.Matches(@"Parse__LiveQuery__WebPubSub__UpstreamPrincipalId:\s*liveQuery\.upstreamPrincipalId\s", functionApp);
        Assert.Matches(@"Parse__LiveQuery__WebPubSub__UpstreamAuthority:\s*'\$\{environment\(\)\.authentication\.loginEndpoint\}\$\{tenant\(\)\.tenantId\}/v2\.0'", functionApp);
        Assert.DoesNotContain("Parse__LiveQuery__WebPubSub__AccessKey", functionApp, StringComparison.Ordinal);

        var main = File.ReadAllText(DeploymentFiles.InRepo("infra", "main.bicep"));
        // The hub asks for the audience the app checks, and the app pins the service's identity.
        Assert.Matches(@"upstreamAudience:\s*liveQueryUpstreamAudience", main);
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Count(main, @"upstreamAudience:\s*liveQueryUpstreamAudience"));
        Assert.Matches(@"upstreamPrincipalId:\s*webPubSubIdentity\.outputs\.principalId", main);
        Assert.Matches(@"serviceIdentityId:\s*webPubSubIdentity\.outputs\.id", main);
    }
}
