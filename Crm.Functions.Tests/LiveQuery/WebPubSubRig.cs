using Azure.Core;
using Crm.Functions.LiveQuery;
using Crm.Functions.Tests.Infrastructure;
using Crm.Functions.Tests.Realtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;

namespace Crm.Functions.Tests.LiveQuery;

/// <summary>
/// What an app needs to serve LiveQuery through Azure Web PubSub in the tests: the test identity provider (it signs the
/// service's managed-identity tokens: audience https://webpubsub.azure.com, the service identity's object id), the app
/// identity's credential (the stand-in's REST side accepts only its token), and the service stand-in. Give a server
/// <see cref="Settings"/> and <see cref="Services"/>, then <see cref="Attach"/> it.
/// </summary>
public sealed class WebPubSubRig : IAsyncDisposable
{
    public const string Audience = "https://webpubsub.azure.com";

    public WebPubSubRig()
    {
        Service = new WebPubSubServiceStandIn(authorization => authorization is not null && authorization == Credential.Bearer, () => ServiceToken());
    }

    public string ServicePrincipal { get; } = Guid.NewGuid().ToString();
    public TestIdentityProvider Idp { get; } = new();
    public TestTokenCredential Credential { get; } = new();
    public WebPubSubServiceStandIn Service { get; }

    /// <summary>An app-only token as Entra issues it to the service's managed identity; pieces overridable to make it wrong.</summary>
    public string ServiceToken(string? principal = null, string? audience = null, string? issuer = null, RsaSecurityKey? key = null, DateTime? expires = null) =>
        Idp.Token(principal ?? ServicePrincipal, audience: audience ?? Audience, issuer: issuer, key: key, expires: expires,
            claims: new Dictionary<string, string?> { ["scp"] = null, ["idtyp"] = "app" });

    public IEnumerable<(string Key, string? Value)> Settings() =>
    [
        ("Parse:LiveQuery:WebPubSub:Endpoint", Service.Endpoint),
        ("Parse:LiveQuery:WebPubSub:Hub", "livequery"),
        ("Parse:LiveQuery:WebPubSub:UpstreamAuthority", $"{Idp.Instance}{Idp.TenantId}/v2.0"),
        ("Parse:LiveQuery:WebPubSub:UpstreamAudience", Audience),
        ("Parse:LiveQuery:WebPubSub:UpstreamPrincipalId", ServicePrincipal),
    ];

    public void Services(IServiceCollection services)
    {
        services.AddSingleton<TokenCredential>(Credential);
        // Only the transport to the identity provider changes (its certificate is trusted); validation is the app's own.
        var thumbprint = Idp.Certificate.Thumbprint;
        services.AddHttpClient(WebPubSubUpstream.MetadataClient).ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, cert, _, _) => cert is not null && cert.GetCertHashString() == thumbprint },
        });
    }

    /// <summary>Points the service's event handler at the server's upstream endpoint.</summary>
    public void Attach(CrmServer server) => Service.Upstream = server.BaseUrl + WebPubSubLiveQuery.Path;

    public async ValueTask DisposeAsync()
    {
        await Service.DisposeAsync();
        await Idp.DisposeAsync();
    }
}
