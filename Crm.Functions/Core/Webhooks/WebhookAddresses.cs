using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Core.Webhooks;

/// <summary>
/// Where webhooks may go (SSRF): https only (plain http to loopback when loopback is allowed), and never to loopback,
/// private, link-local (cloud metadata at 169.254.169.254), carrier-grade NAT, multicast or unspecified addresses unless a
/// setting allows them. The check runs twice: on the URL when a hook is registered (literal addresses), and on the address
/// a delivery actually connects to (<see cref="ConnectAsync"/>, after DNS), so a name that resolves — or is later made to
/// resolve — to an internal address is refused too. Redirects are never followed.
/// </summary>
internal sealed class WebhookAddresses(IOptions<ParseSettings> options, IHostEnvironment environment)
{
    private readonly WebhookSettings _settings = options.Value.Webhooks;

    public bool AllowLoopback => _settings.AllowLoopback ?? environment.IsDevelopment();

    private static readonly IPNetwork[] Private =
    [
        IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("172.16.0.0/12"), IPNetwork.Parse("192.168.0.0/16"),
        IPNetwork.Parse("100.64.0.0/10"), IPNetwork.Parse("198.18.0.0/15"), IPNetwork.Parse("fc00::/7"),
    ];

    private static readonly IPNetwork[] Reserved =
    [
        IPNetwork.Parse("0.0.0.0/8"), IPNetwork.Parse("169.254.0.0/16"), IPNetwork.Parse("224.0.0.0/3"),
        IPNetwork.Parse("fe80::/10"), IPNetwork.Parse("ff00::/8"), IPNetwork.Parse("::/128"),
    ];

    /// <summary>Why a delivery may not connect to the address; null when it may.</summary>
    public string? Refusal(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (IPAddress.IsLoopback(address)) return AllowLoopback ? null : $"address {address} is loopback";
        if (Reserved.Any(n => n.Contains(address))) return $"address {address} is link-local, multicast or unspecified";
        if (!_settings.AllowPrivateNetworks && Private.Any(n => n.Contains(address))) return $"address {address} is in a private range";
        return null;
    }

    /// <summary>Refuses (143) a URL no delivery could be sent to: not absolute http(s), plain http off loopback, a refused literal address.</summary>
    public void EnsureAllowedUrl(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http") || string.IsNullOrEmpty(uri.Host)
            || !string.IsNullOrEmpty(uri.UserInfo))
            throw new ParseException(ParseError.HookError, "invalid hook declaration: url must be an absolute https URL without credentials");
        var literal = IPAddress.TryParse(uri.IdnHost.Trim('[', ']'), out var ip) ? ip : null;
        var loopbackHost = uri.IsLoopback;
        if (uri.Scheme == "http" && !(AllowLoopback && loopbackHost))
            throw new ParseException(ParseError.HookError, "invalid hook declaration: url must use https (plain http only to loopback, when Parse:Webhooks:AllowLoopback is on)");
        if (literal is not null && Refusal(literal) is { } why)
            throw new ParseException(ParseError.HookError, $"invalid hook declaration: url is refused, {why} (Parse:Webhooks)");
    }

    /// <summary>
    /// The connection of a delivery: the host is resolved here and the first allowed address connected, so what is checked
    /// is what is used (no second lookup an attacker's DNS could answer differently).
    /// </summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, ct);
        string? refusal = null;
        foreach (var address in addresses)
        {
            if (Refusal(address) is { } why) { refusal ??= why; continue; }
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        throw new WebhookRefusedException(refusal is null ? $"{host} has no address" : $"{host} refused: {refusal}");
    }

    /// <summary>The client every webhook request goes through: checked connections, no redirects, no cookies.</summary>
    public HttpClient CreateClient() => new(new SocketsHttpHandler
    {
        ConnectCallback = ConnectAsync,
        AllowAutoRedirect = false,
        UseCookies = false,
        UseProxy = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        MaxConnectionsPerServer = Math.Max(1, _settings.MaxConcurrencyPerUrl),
    })
    { Timeout = Timeout.InfiniteTimeSpan };
}

/// <summary>A delivery refused before connecting (SSRF rules).</summary>
internal sealed class WebhookRefusedException(string message) : Exception(message);
