using Azure.Core;

namespace Crm.Functions.Realtime;

/// <summary>
/// Microsoft Entra tokens for a data plane (Azure SignalR Service's scope <c>https://signalr.azure.com/.default</c> by
/// default; Azure Web PubSub's for LiveQuery), reused until shortly before they expire. Every push and every negotiate needs one, and not every
/// <see cref="TokenCredential"/> caches (a managed identity credential may ask the identity endpoint each
/// time). Concurrent callers share one request; a failed request is not remembered, so the next call retries.
/// </summary>
internal sealed class EntraTokens(TokenCredential credential, TimeProvider time, string scope = EntraTokens.Scope)
{
    public const string Scope = "https://signalr.azure.com/.default";
    private static readonly TimeSpan RenewBefore = TimeSpan.FromMinutes(5);

    private readonly Lock _gate = new();
    private Cached? _current;
    private Task<Cached>? _pending;

    private sealed record Cached(string Token, DateTimeOffset RenewAt);

    public async Task<string> GetAsync(CancellationToken ct)
    {
        Task<Cached> pending;
        lock (_gate)
        {
            if (_current is { } c && time.GetUtcNow() < c.RenewAt) return c.Token;
            pending = _pending ??= FetchAsync();
        }
        // The shared request is not tied to one caller's cancellation; a caller that gives up stops waiting.
        return (await pending.WaitAsync(ct)).Token;
    }

    private async Task<Cached> FetchAsync()
    {
        // Leaves the caller's lock before anything else: a credential that answers synchronously must not
        // clear _pending before GetAsync has stored it.
        await Task.Yield();
        try
        {
            var token = await credential.GetTokenAsync(new TokenRequestContext([scope]), CancellationToken.None);
            var cached = new Cached(token.Token, RenewAt(token));
            lock (_gate) _current = cached;
            return cached;
        }
        finally
        {
            lock (_gate) _pending = null;
        }
    }

    /// <summary>The credential's refresh hint, else 5 minutes before expiry; at the latest halfway through a short-lived token.</summary>
    private DateTimeOffset RenewAt(AccessToken token)
    {
        var now = time.GetUtcNow();
        var renewAt = token.RefreshOn ?? token.ExpiresOn - RenewBefore;
        var halfway = now + (token.ExpiresOn - now) / 2;
        return renewAt < halfway ? halfway : renewAt;
    }
}
