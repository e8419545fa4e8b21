using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Crm.Functions.Core.Files;

/// <summary>
/// The URLs of Parse files: <c>{server URL}/files/{appId}/{name}</c>, and with Parse:Files:SignedUrls an expiry and an
/// HMAC-SHA256 signature over the app id, the name and the expiry (<c>?expires=…&amp;signature=…</c>), checked by
/// <see cref="Verify"/> before a file is served. The key is derived from the master key (HKDF), so a signing key needs no
/// setting of its own and changing the master key revokes every URL handed out.
/// </summary>
internal sealed class FileUrls(ParseSettings settings, TimeProvider time)
{
    private static readonly AsyncLocal<string?> RequestServerUrl = new();
    private readonly byte[] _key = HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(settings.MasterKey ?? ""), 32,
        info: "crm-file-url-signature"u8.ToArray());

    public bool Signed => settings.Files.SignedUrls;

    private volatile string? _lastServerUrl;

    /// <summary>
    /// The public URL of the mount path for the rest of the caller's async flow (a request), used when no
    /// Parse:PublicServerUrl is configured: every door sets it, so file URLs are absolute in REST and GraphQL. Work outside
    /// a request (real-time pushes, which run after the write) uses the URL of the latest request: the server's own address
    /// as its clients reach it. A sync method, so the value flows back to the caller.
    /// </summary>
    public void UseServerUrl(string serverUrl)
    {
        RequestServerUrl.Value = serverUrl.TrimEnd('/');
        _lastServerUrl = RequestServerUrl.Value;
    }

    /// <summary>The URL of a file for clients: absolute when the server URL is known, else relative ("/files/…").</summary>
    public string For(string name, string? serverUrl = null)
    {
        var baseUrl = (settings.PublicServerUrl ?? serverUrl ?? RequestServerUrl.Value ?? _lastServerUrl ?? "").TrimEnd('/');
        var url = $"{baseUrl}/files/{Uri.EscapeDataString(settings.AppId)}/{Uri.EscapeDataString(name)}";
        if (!Signed) return url;
        var expires = time.GetUtcNow().AddSeconds(settings.Files.SignedUrlLifetimeSeconds).ToUnixTimeSeconds();
        return $"{url}?expires={expires}&signature={Signature(name, expires)}";
    }

    /// <summary>When a signed URL's signature is right and it has not expired, its expiry; else null.</summary>
    public DateTimeOffset? Verify(string name, string? expires, string? signature)
    {
        if (!long.TryParse(expires, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
            || seconds > 253_402_300_799 || string.IsNullOrEmpty(signature) || signature.Length > 64) return null;
        var expected = Encoding.ASCII.GetBytes(Signature(name, seconds));
        var presented = Encoding.ASCII.GetBytes(signature);
        if (!CryptographicOperations.FixedTimeEquals(expected, presented)) return null;
        var expiry = DateTimeOffset.FromUnixTimeSeconds(seconds);
        return expiry > time.GetUtcNow() ? expiry : null;
    }

    private string Signature(string name, long expires)
    {
        var mac = HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes($"{settings.AppId}\n{name}\n{expires.ToString(System.Globalization.CultureInfo.InvariantCulture)}"));
        return Base64Url.EncodeToString(mac);
    }
}
