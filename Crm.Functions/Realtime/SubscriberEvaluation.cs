using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Requests;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Security;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Realtime;

/// <summary>One subscription to decide: its id, and its filter (a <see cref="ParseException"/> from it means "no longer applies").</summary>
internal sealed record SubscriptionToDecide(string Id, Func<QueryNode> Filter);

/// <summary>What one subscription gets for a change: its event, or — when deciding failed — an error event, after which it is removed.</summary>
internal sealed record SubscriptionOutcome(string SubscriptionId, JsonObject Payload, bool Failed);

/// <summary>
/// Decides one subscriber's subscription events for one change, isolated from every other subscriber. A filter is
/// written by its subscriber, so it may be as slow as a regex timeout allows; that must cost its subscriber, never
/// the change for everybody or the events of other users:
/// <list type="bullet">
/// <item>readability first: a user who may read neither state costs two ACL checks and no filter;</item>
/// <item>each subscription under its own <see cref="RequestBudget"/> (<see cref="RealtimeSettings.EvaluationMilliseconds"/>
/// of wall and regex time); one that fails gets an error event and is removed, for its subscriber alone;</item>
/// <item>callers run this on the subscriber's own queue (<see cref="RecipientQueues"/>), and at most one evaluation per
/// core runs at once: a slow subscriber holds its queue and one slot, not the pump.</item>
/// </list>
/// </summary>
internal sealed class SubscriberEvaluation(RealtimeFanout fanout, IOptions<RealtimeSettings> options, ILogger<SubscriberEvaluation> log) : IDisposable
{
    public const string ErrorOp = "error";

    private readonly SemaphoreSlim _slots = new(Math.Max(2, Environment.ProcessorCount));
    // Subscriptions that failed here: changes already queued for their subscriber must not pay for them again.
    private readonly ConcurrentDictionary<string, byte> _failed = new(StringComparer.Ordinal);
    private readonly BudgetLimits _limits = new(
        TimeSpan.FromMilliseconds(options.Value.EvaluationMilliseconds), TimeSpan.FromMilliseconds(options.Value.EvaluationMilliseconds),
        Statements: 10, Objects: 100, NestedCreates: 0, PasswordHashes: 0,
        // Evaluations are already bounded by the slots below; the per-caller gates of requests do not apply here.
        Gates: new CallerGates(int.MaxValue, TimeSpan.Zero));

    public async Task<List<SubscriptionOutcome>> DecideAsync(Auth auth, ClassSchema schema, ObjectChange change,
        IReadOnlyList<SubscriptionToDecide> subscriptions, CancellationToken ct)
    {
        var outcomes = new List<SubscriptionOutcome>();
        var readable = RealtimeFanout.ReadabilityOf(auth, schema, change);
        if (!readable.Either || subscriptions.Count == 0) return outcomes;
        await _slots.WaitAsync(ct);
        try
        {
            foreach (var subscription in subscriptions.Where(s => !_failed.ContainsKey(s.Id)))
            {
                QueryNode filter;
                try
                {
                    filter = subscription.Filter();
                }
                catch (ParseException e)
                {
                    // A field that became protected, or a find the CLP now refuses: silent, as a REST find would be refused.
                    log.LogDebug("Subscription {SubscriptionId} no longer applies for its user: {Reason}", subscription.Id, e.Message);
                    continue;
                }
                try
                {
                    JsonObject? payload;
                    using (RequestBudget.Begin(_limits))
                    {
                        payload = fanout.Decide(auth, schema, change, filter, readable);
                        RequestBudget.Current!.CheckTime();
                    }
                    if (payload is null) continue;
                    payload["subscriptionId"] = subscription.Id;
                    outcomes.Add(new SubscriptionOutcome(subscription.Id, payload, false));
                }
                catch (ParseException e)
                {
                    log.LogInformation("Subscription {SubscriptionId} of user {UserId} failed on a {ClassName} change and is removed: {Reason}",
                        subscription.Id, auth.UserId, schema.ClassName, e.Message);
                    if (_failed.Count >= 100_000) _failed.Clear();
                    _failed[subscription.Id] = 0;
                    outcomes.Add(new SubscriptionOutcome(subscription.Id, ErrorEvent(schema.ClassName, subscription.Id, e.Code), true));
                }
            }
        }
        finally
        {
            _slots.Release();
        }
        return outcomes;
    }

    public void Dispose() => _slots.Dispose();

    /// <summary>The last event of a subscription that failed: LiveQuery's "error", with the Parse code (124 for time).</summary>
    private JsonObject ErrorEvent(string className, string subscriptionId, int code) => new()
    {
        ["op"] = ErrorOp,
        ["className"] = className,
        ["subscriptionId"] = subscriptionId,
        ["code"] = code,
        ["error"] = $"The subscription's where could not be evaluated within {_limits.WallTime.TotalMilliseconds:0} ms (Realtime:EvaluationMilliseconds); the subscription was removed.",
    };
}

/// <summary>Copies of a change for work on another thread: a stored object parses its JSON lazily and is not safe to share.</summary>
internal static class ObjectChanges
{
    public static ObjectChange Copy(this ObjectChange change) => change with { Before = change.Before?.Clone(), After = change.After?.Clone() };
}
