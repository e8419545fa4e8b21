using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Triggers;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Core.Webhooks;

/// <summary>What a POST to a receiver came to: success, or why not.</summary>
internal readonly record struct SendResult(bool Ok, string? Error, JsonNode? Body = null);

/// <summary>
/// Signs and sends what goes to a webhook URL. <c>X-Crm-Webhook-Timestamp</c> is the send time in Unix seconds and
/// <c>X-Crm-Webhook-Signature</c> the lower-case hex HMAC-SHA256, keyed with the hook's secret (its UTF-8 text), of
/// <c>timestamp + "." + body</c>: a receiver recomputes it over the raw body and refuses old timestamps (docs/webhooks.md).
/// At most <see cref="WebhookSettings.MaxConcurrencyPerUrl"/> requests are in flight to one URL; each may take
/// <see cref="WebhookSettings.TimeoutSeconds"/>.
/// </summary>
internal sealed class WebhookSender(WebhookAddresses addresses, IOptions<ParseSettings> options, TimeProvider time) : IDisposable
{
    public const string SignatureHeader = "X-Crm-Webhook-Signature", TimestampHeader = "X-Crm-Webhook-Timestamp";

    private readonly WebhookSettings _settings = options.Value.Webhooks;
    private readonly HttpClient _client = addresses.CreateClient();
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _perUrl = new(StringComparer.Ordinal);

    public static string Sign(string secret, string timestamp, string body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(timestamp + "." + body)));

    /// <summary>
    /// A turn to send to <paramref name="url"/> (at most <see cref="WebhookSettings.MaxConcurrencyPerUrl"/> at once), released
    /// by disposing it. The dispatcher takes its turn before it leases a delivery, so that a lease covers one request and no
    /// queue: deliveries waiting for a turn are not leased, and a crashed sender leaves only the few it was sending leased.
    /// </summary>
    public async Task<IDisposable> TurnAsync(string url, CancellationToken ct)
    {
        var gate = _perUrl.GetOrAdd(url, _ => new SemaphoreSlim(Math.Max(1, _settings.MaxConcurrencyPerUrl)));
        await gate.WaitAsync(ct);
        return new Turn(gate);
    }

    private sealed class Turn(SemaphoreSlim gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) gate.Release();
        }
    }

    /// <summary>Sends in a turn of its own.</summary>
    public async Task<SendResult> SendAsync(Webhook hook, string body, CancellationToken ct)
    {
        using var turn = await TurnAsync(hook.Url, ct);
        return await SendInTurnAsync(hook, body, ct);
    }

    /// <summary>Sends; the caller holds a turn for the hook's URL (<see cref="TurnAsync"/>).</summary>
    public async Task<SendResult> SendInTurnAsync(Webhook hook, string body, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(_settings.TimeoutSeconds));
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, hook.Url)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(TimestampHeader, timestamp);
        request.Headers.Add(SignatureHeader, Sign(hook.Secret, timestamp, body));
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("Crm.Functions-Webhooks", "1"));
        if (!string.IsNullOrEmpty(_settings.WebhookKey)) request.Headers.Add("X-Parse-Webhook-Key", _settings.WebhookKey);
        try
        {
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token);
            var status = (int)response.StatusCode;
            if (status is >= 300 and < 400) return new(false, $"HTTP {status}: redirects are not followed");
            if (status is < 200 or >= 300) return new(false, $"HTTP {status}");
            var text = await response.Content.ReadAsStringAsync(timeout.Token);
            JsonNode? parsed = null;
            try { parsed = text.Length == 0 ? null : JsonNode.Parse(text); }
            catch (System.Text.Json.JsonException) { parsed = null; }
            return new(true, null, parsed);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new(false, $"no answer within {_settings.TimeoutSeconds} s");
        }
        catch (HttpRequestException e)
        {
            return new(false, e.InnerException is WebhookRefusedException refused ? $"refused: {refused.Message}" : $"connection failed: {e.Message}");
        }
    }

    /// <summary>
    /// Runs a cloud function implemented by a URL, as Parse does: the request carries the parameters and the caller, and the
    /// URL answers <c>{"success": result}</c> or <c>{"error": message}</c> (then 141 with that message, as a failed function).
    /// </summary>
    public async Task<JsonNode?> CallFunctionAsync(Webhook hook, FunctionCall call, CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["functionName"] = hook.FunctionName,
            ["params"] = call.Params.DeepClone(),
            ["master"] = call.Auth.IsMaster,
            ["user"] = call.Auth.UserId is { } id ? new JsonObject { ["objectId"] = id, ["className"] = "_User", ["__type"] = "Object" } : null,
            ["installationId"] = call.Auth.InstallationId,
        };
        var result = await SendAsync(hook, body.ToJsonString(), ct);
        if (result.Body is JsonObject answer && answer.ContainsKey("success")) return answer["success"]?.DeepClone();
        if (result.Body is JsonObject failure && failure["error"] is { } error)
            throw new ParseException(ParseError.ScriptFailed, error is JsonValue v && v.TryGetValue(out string? message) ? message : error.ToJsonString());
        throw new ParseException(ParseError.ScriptFailed, result.Ok ? "The function's webhook answered neither success nor error." : $"The function's webhook failed: {result.Error}");
    }

    public void Dispose()
    {
        _client.Dispose();
        foreach (var gate in _perUrl.Values) gate.Dispose();
    }
}
