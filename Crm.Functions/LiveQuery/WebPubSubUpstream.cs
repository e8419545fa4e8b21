using System.Security.Cryptography;
using System.Text;
using Crm.Functions.Core;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Crm.Functions.LiveQuery;

/// <summary>
/// Decides whether a request to the upstream endpoint comes from our Web PubSub service:
/// <list type="bullet">
/// <item>the abuse-protection handshake (OPTIONS) is answered only for the configured service's host;</item>
/// <item>each delivery carries the managed-identity token the hub's event handler asks for: a Microsoft Entra access
/// token whose signature (the tenant's published keys), issuer, audience, lifetime and — when configured — the
/// service identity's object id are checked (Microsoft.IdentityModel, as the Entra sign-in of users is);</item>
/// <item>with an access key (local use), <c>ce-signature</c> must hold the HMAC-SHA256 of the connection id under it.</item>
/// </list>
/// Every refusal is a 401 with a Parse error body; nothing of the event is handled before this passes.
/// </summary>
internal sealed class WebPubSubUpstream
{
    /// <summary>The named HttpClient that fetches the OpenID metadata and keys (tests point it at their identity provider).</summary>
    public const string MetadataClient = "webpubsub-upstream-metadata";

    private readonly WebPubSubSettings _settings;
    private readonly ConfigurationManager<OpenIdConnectConfiguration>? _metadata;
    private readonly JsonWebTokenHandler _tokens = new();

    public WebPubSubUpstream(WebPubSubSettings settings, IHttpClientFactory clients)
    {
        _settings = settings;
        if (!string.IsNullOrWhiteSpace(settings.UpstreamAuthority))
            _metadata = new ConfigurationManager<OpenIdConnectConfiguration>(
                settings.UpstreamAuthority.TrimEnd('/') + "/.well-known/openid-configuration",
                new OpenIdConnectConfigurationRetriever(),
                new HttpDocumentRetriever(clients.CreateClient(MetadataClient)) { RequireHttps = true });
    }

    /// <summary>The OPTIONS handshake: the host to echo in WebHook-Allowed-Origin, or a refusal.</summary>
    public static string AllowedOrigin(HttpRequest request, string serviceHost)
    {
        var origins = request.Headers["WebHook-Request-Origin"];
        if (origins.Count == 1 && string.Equals(origins[0], serviceHost, StringComparison.OrdinalIgnoreCase)) return serviceHost;
        throw new ParseException(ParseError.OperationForbidden, "WebHook-Request-Origin is not this app's Web PubSub service.", 403);
    }

    /// <summary>Checks a delivery's credentials; throws a 401 Parse error when they are missing or wrong.</summary>
    public async Task ValidateAsync(HttpRequest request, string connectionId, CancellationToken ct)
    {
        var checkedSomething = false;
        if (_metadata is not null)
        {
            var authorization = request.Headers.Authorization.ToString();
            if (!authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) throw Refused("A bearer token is required.");
            var configuration = await _metadata.GetConfigurationAsync(ct);
            var result = await _tokens.ValidateTokenAsync(authorization[7..].Trim(), new TokenValidationParameters
            {
                ValidAudience = _settings.UpstreamAudience,
                ValidIssuers = _settings.UpstreamIssuers.Count > 0 ? _settings.UpstreamIssuers : [configuration.Issuer],
                IssuerSigningKeys = configuration.SigningKeys,
                ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
                RequireExpirationTime = true,
                RequireSignedTokens = true,
            });
            if (!result.IsValid) throw Refused("The bearer token is not valid for this endpoint.");
            if (!string.IsNullOrWhiteSpace(_settings.UpstreamPrincipalId)
                && !(result.Claims.TryGetValue("oid", out var oid) && string.Equals(oid as string, _settings.UpstreamPrincipalId.Trim(), StringComparison.OrdinalIgnoreCase)))
                throw Refused("The bearer token is not the Web PubSub service's identity.");
            checkedSomething = true;
        }
        if (!string.IsNullOrEmpty(_settings.AccessKey))
        {
            // ce-signature: "sha256=<hex>[,sha256=<hex>]", one per access key (primary, secondary) of the service.
            var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(_settings.AccessKey), Encoding.UTF8.GetBytes(connectionId)));
            var signatures = request.Headers["ce-signature"].ToString().Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (!signatures.Any(s => CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(s.ToLowerInvariant()), Encoding.ASCII.GetBytes(expected))))
                throw Refused("The ce-signature does not match.");
            checkedSomething = true;
        }
        // Settings validation refuses to start without either; this keeps a misconfiguration from ever opening the door.
        if (!checkedSomething) throw Refused("The upstream endpoint has no way to check its caller.");
    }

    private static ParseException Refused(string message) => new(ParseError.OperationForbidden, message, 401);
}
