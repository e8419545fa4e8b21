using Crm.Functions.Core;

namespace Crm.Functions.Realtime;

/// <summary>
/// The <c>event</c> messages that stored (HTTP) subscriptions get for one change, user-targeted so that any
/// instance can send them (Azure SignalR has no connection of ours to aim at). The subscribers are the candidates;
/// each where is used as parsed for its owner's current roles and CLP (<see cref="SubscriptionFilter.Cached"/>: a field
/// that became protected, or a class whose find is now refused, silences the subscription) and each event is decided by
/// <see cref="SubscriberEvaluation"/> (readability first, one budget per subscription, a failing one removed) with
/// <see cref="RealtimeFanout.Decide"/>, the feed's own read check and LiveQuery table.
/// </summary>
internal sealed class SubscriptionEvents(SubscriptionStore store, SubscriptionFilter filters, RealtimeFanout fanout, SubscriberEvaluation evaluation)
{
    /// <summary>The subscribers of the change's class with their live subscriptions, grouped by user.</summary>
    /// <param name="reachable">The users worth deciding for (the local hub's connected users); null = all subscribers.</param>
    public async Task<List<(string UserId, List<StoredSubscription> Subscriptions)>> SubscribersAsync(ObjectChange change, IReadOnlySet<string>? reachable, CancellationToken ct) =>
        [.. (await store.ForClassAsync(change.ClassName, ct))
            .Where(s => reachable is null || reachable.Contains(s.UserId))
            .GroupBy(s => s.UserId, StringComparer.Ordinal)
            .Select(g => (g.Key, g.ToList()))];

    /// <summary>
    /// One subscriber's events for a change (<paramref name="change"/> must be this call's own copy: it may run beside
    /// other subscribers' calls). A subscription that failed is removed and its error event is among the messages.
    /// </summary>
    public async Task<List<UserMessage>> ForUserAsync(string userId, IReadOnlyList<StoredSubscription> subscriptions, ObjectChange change, CancellationToken ct)
    {
        var messages = new List<UserMessage>();
        if (fanout.Schema(change.ClassName) is not { } schema) return messages;
        var auth = await fanout.AuthForAsync(userId, ct);
        var toDecide = subscriptions.Select(s => new SubscriptionToDecide(s.Id, () => filters.Cached(s.Id, auth, s.ClassName, s.Where))).ToList();
        foreach (var outcome in await evaluation.DecideAsync(auth, schema, change, toDecide, ct))
        {
            if (outcome.Failed) await store.DeleteAsync(userId, outcome.SubscriptionId, ct);
            messages.Add(new UserMessage(userId, RealtimeFanout.SubscriptionEvent, outcome.Payload));
        }
        return messages;
    }

    /// <summary>Every subscriber's events for a change (the change-feed path), the subscribers decided side by side.</summary>
    public async Task<List<UserMessage>> ForAsync(ObjectChange change, IReadOnlySet<string>? reachable, CancellationToken ct)
    {
        var subscribers = await SubscribersAsync(change, reachable, ct);
        var copies = subscribers.Select(_ => change.Copy()).ToList();
        var results = await Task.WhenAll(subscribers.Select((s, i) => ForUserAsync(s.UserId, s.Subscriptions, copies[i], ct)));
        return [.. results.SelectMany(r => r)];
    }
}
