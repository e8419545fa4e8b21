using Azure.Core;
using Crm.Functions.Core;
using Crm.Functions.Http;
using Microsoft.AspNetCore.Mvc;

namespace Crm.Functions.LiveQuery;

/// <summary>Wires the Parse LiveQuery door over the real-time core (<see cref="Realtime.RealtimeSetup"/>), and Azure Web PubSub when configured.</summary>
internal static class LiveQuerySetup
{
    public const string WebPubSubSection = ParseSettings.Section + ":LiveQuery:WebPubSub";

    public static void AddCrmLiveQuery(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<LiveQuerySettings>().Bind(builder.Configuration.GetSection(LiveQuerySettings.Section));
        builder.Services.AddSingleton<LiveQueryServer>();
        builder.Services.AddHostedService<LiveQuerySessions>();

        var webPubSub = builder.Configuration.GetSection(WebPubSubSection).Get<WebPubSubSettings>() ?? new WebPubSubSettings();
        if (!webPubSub.Enabled) return;
        var services = builder.Services;
        services.AddHttpClient(WebPubSubUpstream.MetadataClient);
        services.AddSingleton(webPubSub);
        // A TokenCredential registered in DI (tests, or a host with its own identity setup) replaces DefaultAzureCredential.
        services.AddSingleton(sp => new WebPubSubService(webPubSub, sp.GetService<TokenCredential>(),
            new HttpClient { Timeout = TimeSpan.FromSeconds(10) }, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<WebPubSubUpstream>();
        services.AddSingleton<WebPubSubConnections>();
        services.AddSingleton<WebPubSubLiveQuery>();
        services.AddHostedService<WebPubSubSessions>();
    }

    /// <summary>
    /// The upstream endpoint of Azure Web PubSub. Mapped always, like every deployed function's endpoint; without the
    /// service configured it answers every request with a Parse error.
    /// </summary>
    public static void MapWebPubSubLiveQuery(this WebApplication app) =>
        app.MapMethods(WebPubSubLiveQuery.Path, [HttpMethods.Options, HttpMethods.Post], (HttpContext context, [FromServices] ParseDoor door) =>
                context.RequestServices.GetService<WebPubSubLiveQuery>() is { } webPubSub
                    ? webPubSub.ServeAsync(context, door)
                    : door.ServeAsync(context, SessionTokenUse.Ignore, (_, _) =>
                        throw new ParseException(ParseError.CommandUnavailable, "Azure Web PubSub is not configured (Parse:LiveQuery:WebPubSub:Endpoint)."),
                        caller: Core.Security.Auth.Anonymous))
            .WithTags("Realtime").WithSummary("Azure Web PubSub upstream (LiveQuery)")
            .WithDescription("Called by Azure Web PubSub with its CloudEvents (abuse-protection OPTIONS, connect, message, disconnected) "
                             + "for LiveQuery clients connected to the service; checks the service's managed-identity token.");

    /// <summary>Settings errors that stop the app at start (with the other settings' errors).</summary>
    public static IEnumerable<string> Validate(WebPubSubSettings s)
    {
        if (!s.Enabled) yield break;
        var prefix = "Setting Parse:LiveQuery:WebPubSub:";
        if (!Uri.TryCreate(s.Endpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("https" or "http"))
            yield return prefix + $"Endpoint must be the service's absolute URL, e.g. https://name.webpubsub.azure.com (got '{s.Endpoint}').";
        if (!System.Text.RegularExpressions.Regex.IsMatch(s.Hub ?? "", "^[A-Za-z][A-Za-z0-9_]{0,127}$"))
            yield return prefix + "Hub must start with a letter and hold only letters, digits and underscores.";
        var entra = !string.IsNullOrWhiteSpace(s.UpstreamAuthority) || !string.IsNullOrWhiteSpace(s.UpstreamAudience);
        if (entra && (!Uri.TryCreate(s.UpstreamAuthority, UriKind.Absolute, out var authority) || authority.Scheme != "https" || string.IsNullOrWhiteSpace(s.UpstreamAudience)))
            yield return prefix + "UpstreamAuthority (an https URL) and UpstreamAudience go together: they check the service's managed-identity token.";
        if (!entra && string.IsNullOrEmpty(s.AccessKey))
            yield return prefix + "UpstreamAuthority and UpstreamAudience (or, locally, AccessKey) are required: the upstream endpoint must check its caller.";
    }
}
