using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Identity.Web;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Crm.Functions.Tests.Infrastructure;

/// <summary>
/// A stand-in for Microsoft Entra ID on loopback: it publishes OpenID metadata and a signing key (JWKS)
/// for one tenant and signs v2.0 access tokens with that key. The app validates them through
/// Microsoft.Identity.Web exactly as it would Entra's, only the authority URL differs — no network.
/// </summary>
public sealed class TestIdentityProvider : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly RSA _rsa = RSA.Create(2048);
    private readonly RsaSecurityKey _key;

    public string TenantId { get; } = Guid.NewGuid().ToString();
    public string ClientId { get; } = Guid.NewGuid().ToString();
    public string Instance { get; }
    public string Issuer => $"{Instance}{TenantId}/v2.0";

    public TestIdentityProvider()
    {
        _key = new RsaSecurityKey(_rsa) { KeyId = "test-key-1" };
        Certificate = CreateCertificate();
        var builder = WebApplication.CreateSlimBuilder();
        // HTTPS, as Entra: the issuer validator refuses to fetch metadata over plain HTTP.
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(Certificate)));
        _app = builder.Build();
        // Like Entra, the multi-tenant metadata ("common", "organizations") names the issuer as a template.
        _app.MapGet("/{tenant}/v2.0/.well-known/openid-configuration", (string tenant) => Results.Text(new JsonObject
        {
            ["issuer"] = tenant is "common" or "organizations" ? Instance + "{tenantid}/v2.0" : $"{Instance}{tenant}/v2.0",
            ["authorization_endpoint"] = $"{Instance}{tenant}/oauth2/v2.0/authorize",
            ["token_endpoint"] = $"{Instance}{tenant}/oauth2/v2.0/token",
            ["jwks_uri"] = $"{Instance}{tenant}/discovery/v2.0/keys",
            ["id_token_signing_alg_values_supported"] = new JsonArray("RS256"),
        }.ToJsonString(), "application/json"));
        _app.MapGet("/{tenant}/discovery/v2.0/keys", (string tenant) =>
        {
            var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(_rsa.ExportParameters(false)) { KeyId = _key.KeyId });
            // Like Entra, the multi-tenant keys name their issuer as the same template as the metadata.
            var issuer = tenant is "common" or "organizations" ? Instance + "{tenantid}/v2.0" : $"{Instance}{tenant}/v2.0";
            var key = new JsonObject { ["kty"] = "RSA", ["use"] = "sig", ["kid"] = jwk.Kid, ["n"] = jwk.N, ["e"] = jwk.E, ["issuer"] = issuer };
            return Results.Text(new JsonObject { ["keys"] = new JsonArray(key) }.ToJsonString(), "application/json");
        });
        _app.StartAsync().GetAwaiter().GetResult();
        Instance = _app.Urls.First().Replace("[::1]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/') + "/";
    }

    public X509Certificate2 Certificate { get; }

    private static X509Certificate2 CreateCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }

    /// <summary>
    /// Points the app's metadata HTTP clients (JwtBearer's and the Entra issuer validator's) at a handler
    /// that trusts exactly this provider's certificate. Only the transport changes; validation is the app's own.
    /// </summary>
    public void TrustIn(IServiceCollection services)
    {
        var thumbprint = Certificate.Thumbprint;
        HttpMessageHandler Handler() => new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, cert, _, _) => cert is not null && cert.GetCertHashString() == thumbprint },
        };
        services.AddHttpClient("test-identity-provider").ConfigurePrimaryHttpMessageHandler(Handler);
        services.Configure<AadIssuerValidatorOptions>(o => o.HttpClientName = "test-identity-provider");
        services.Configure<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme, o => o.BackchannelHttpHandler = Handler());
    }

    /// <summary>The AzureAd settings that point the app at this provider.</summary>
    public Dictionary<string, string?> Settings() => new()
    {
        ["AzureAd:Instance"] = Instance,
        ["AzureAd:TenantId"] = TenantId,
        ["AzureAd:ClientId"] = ClientId,
    };

    /// <summary>
    /// A signed access token; override pieces to make it invalid. <paramref name="claims"/> replaces claims by name
    /// (a null value removes one, e.g. "scp" for an app-only token) or adds others.
    /// </summary>
    public string Token(string objectId, string? username = null, string? audience = null, DateTime? expires = null, string? issuer = null,
        RsaSecurityKey? key = null, IReadOnlyDictionary<string, string?>? claims = null)
    {
        var values = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["oid"] = objectId, ["tid"] = TenantId, ["ver"] = "2.0", ["sub"] = objectId, ["scp"] = "access_as_user", ["preferred_username"] = username,
        };
        foreach (var (name, value) in claims ?? new Dictionary<string, string?>()) values[name] = value;
        var list = values.Where(c => c.Value is not null).Select(c => new Claim(c.Key, c.Value!)).ToList();
        var now = DateTime.UtcNow;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Issuer,
            Audience = audience ?? ClientId,
            Subject = new ClaimsIdentity(list),
            NotBefore = (expires ?? now.AddMinutes(10)) < now ? now.AddHours(-2) : now.AddMinutes(-1),
            IssuedAt = (expires ?? now.AddMinutes(10)) < now ? now.AddHours(-2) : now.AddMinutes(-1),
            Expires = expires ?? now.AddMinutes(10),
            SigningCredentials = new SigningCredentials(key ?? _key, SecurityAlgorithms.RsaSha256),
        };
        return new JsonWebTokenHandler().CreateToken(descriptor);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _rsa.Dispose();
        Certificate.Dispose();
    }
}
