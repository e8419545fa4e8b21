using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Azure.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Crm.Functions.Tests.Realtime;

/// <summary>A request the stand-in accepted or refused.</summary>
public sealed record ServiceCall(string Path, string? ApiVersion, string? Authorization, IReadOnlyDictionary<string, string> Query, string Body, int Status);

/// <summary>
/// A local stand-in (Kestrel on loopback) for Azure SignalR Service's data-plane REST API, 2022-11-01:
/// <c>POST /api/hubs/{hub}/:generateToken?userId&amp;minutesToExpire</c> → 200 <c>{"token"}</c> and
/// <c>POST /api/hubs/{hub}/users/{user}/:send</c> → 202 and <c>POST /api/hubs/{hub}/users/{user}/:closeConnections</c> → 204
/// (it holds no connections: the call is only recorded). It checks what the service checks — the bearer (via
/// <see cref="Authorize"/>), the api-version, the hub — and answers 401/400/404 otherwise. Sends to a user put on
/// <see cref="Hold"/> wait until <see cref="Release"/> (a recipient whose sends hang).
/// </summary>
public sealed partial class SignalRServiceStandIn : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<bool>> _held = new(StringComparer.Ordinal);

    public SignalRServiceStandIn(Func<string?, string, bool> authorize, string hub = "crm")
    {
        Authorize = authorize;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.Run(context => HandleAsync(context, hub));
        _app.StartAsync().GetAwaiter().GetResult();
        Endpoint = _app.Urls.Single().TrimEnd('/');
    }

    /// <summary>http://127.0.0.1:port</summary>
    public string Endpoint { get; }

    /// <summary>Decides whether an Authorization header value is accepted for a URL (without its query).</summary>
    public Func<string?, string, bool> Authorize { get; }

    /// <summary>Every request, in arrival order.</summary>
    public BlockingCollection<ServiceCall> Calls { get; } = [];

    /// <summary>The users whose sends arrived while held, one entry per send, as they arrived.</summary>
    public BlockingCollection<string> HeldArrivals { get; } = [];

    /// <summary>Sends to this user wait until released.</summary>
    public void Hold(string userId) => _held[userId] = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The held sends go on, and are answered and recorded.</summary>
    public void Release(string userId)
    {
        if (_held.TryRemove(userId, out var gate)) gate.SetResult(true);
    }

    /// <summary>The held sends end unrecorded, answered 503: their sender is gone (a process that was killed).</summary>
    public void Drop(string userId)
    {
        if (_held.TryRemove(userId, out var gate)) gate.SetResult(false);
    }

    public static string TokenFor(string userId) => $"client-token-for-{userId}";

    /// <summary>
    /// The next <paramref name="count"/> calls, each within <paramref name="wait"/> (5 s), then none for
    /// <paramref name="quiet"/> (500 ms): more calls than expected fail the test too.
    /// </summary>
    public List<ServiceCall> Expect(int count, TimeSpan? quiet = null, TimeSpan? wait = null)
    {
        var calls = new List<ServiceCall>();
        while (calls.Count < count)
        {
            Xunit.Assert.True(Calls.TryTake(out var call, wait ?? TimeSpan.FromSeconds(5)), $"only {calls.Count} of {count} calls reached the service");
            calls.Add(call!);
        }
        Xunit.Assert.False(Calls.TryTake(out var extra, quiet ?? TimeSpan.FromMilliseconds(500)), $"unexpected call {extra?.Path} {extra?.Body}");
        return calls;
    }

    /// <summary>The user a send went to.</summary>
    public static string UserOf(ServiceCall call) => Uri.UnescapeDataString(call.Path.Split('/')[^2]);

    private async Task HandleAsync(HttpContext context, string hub)
    {
        var request = context.Request;
        var body = await new StreamReader(request.Body).ReadToEndAsync();
        var query = request.Query.ToDictionary(q => q.Key, q => q.Value.ToString(), StringComparer.Ordinal);
        var path = request.Path.Value ?? "";
        var authorization = request.Headers.Authorization.ToString();
        var generate = GenerateToken().Match(path);
        var send = SendToUser().Match(path);
        var close = CloseUserConnections().Match(path);

        int status;
        JsonObject? answer = null;
        if (!Authorize(authorization.Length == 0 ? null : authorization, Endpoint + path)) status = 401;
        else if (request.Method != "POST" || query.GetValueOrDefault("api-version") != "2022-11-01") status = 400;
        else if ((generate.Success ? generate : close.Success ? close : send).Groups["hub"] is { Success: true } h && h.Value != hub) status = 404;
        else if (close.Success) status = 204;
        else if (generate.Success && query.TryGetValue("userId", out var userId) && int.TryParse(query.GetValueOrDefault("minutesToExpire"), out var minutes) && minutes > 0)
        {
            status = 200;
            answer = new JsonObject { ["token"] = TokenFor(userId) };
        }
        else if (send.Success && JsonNode.Parse(body) is JsonObject { } message && message["target"] is not null && message["arguments"] is JsonArray)
        {
            var user = Uri.UnescapeDataString(send.Groups["user"].Value);
            if (_held.TryGetValue(user, out var gate))
            {
                HeldArrivals.Add(user);
                if (!await gate.Task)
                {
                    context.Response.StatusCode = 503;
                    return;
                }
            }
            status = 202;
        }
        else status = 400;

        Calls.Add(new ServiceCall(path, query.GetValueOrDefault("api-version"), authorization, query, body, status));
        context.Response.StatusCode = status;
        if (answer is not null) await context.Response.WriteAsJsonAsync(answer);
    }

    [GeneratedRegex("^/api/hubs/(?<hub>[^/]+)/:generateToken$")]
    private static partial Regex GenerateToken();

    [GeneratedRegex("^/api/hubs/(?<hub>[^/]+)/users/(?<user>[^/]+)/:send$")]
    private static partial Regex SendToUser();

    [GeneratedRegex("^/api/hubs/(?<hub>[^/]+)/users/(?<user>[^/]+)/:closeConnections$")]
    private static partial Regex CloseUserConnections();

    public async ValueTask DisposeAsync()
    {
        foreach (var user in _held.Keys) Release(user);
        await _app.DisposeAsync();
    }
}

/// <summary>A TokenCredential that issues numbered tokens (or fails) and counts the requests.</summary>
public sealed class TestTokenCredential : TokenCredential
{
    private int _requests;

    public bool Fail { get; set; }

    public int Requests => Volatile.Read(ref _requests);

    /// <summary>The last token issued, as a bearer header value.</summary>
    public string? Bearer { get; private set; }

    public List<string[]> Scopes { get; } = [];

    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        GetTokenAsync(requestContext, cancellationToken).AsTask().GetAwaiter().GetResult();

    public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        var n = Interlocked.Increment(ref _requests);
        lock (Scopes) Scopes.Add(requestContext.Scopes);
        if (Fail) throw new Azure.Identity.CredentialUnavailableException("No managed identity endpoint found (test).");
        var token = $"entra-token-{n}";
        Bearer = "Bearer " + token;
        return ValueTask.FromResult(new AccessToken(token, DateTimeOffset.UtcNow.AddHours(1)));
    }
}
