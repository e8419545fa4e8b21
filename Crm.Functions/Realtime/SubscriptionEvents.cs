using Crm.Functions.Core;
using Crm.Functions.Core.Query;

namespace Crm.Functions.Realtime;

/// <summary>
/// The <c>event</c> messages that stored (HTTP) subscriptions get for one change, user-targeted so that any
/// instance can send them (Azure SignalR has no connection of ours to aim at). The subscribers are the candidates;
/// each where is parsed again for its owner's current roles and CLP (a field that became protected, or a class
/// whose find is now refused, silences the subscription) and each event is decided by
/// <see cref="RealtimeFanout.Decide"/>, the feed's own read check and LiveQuery table.
/// </summary>
internal sealed class SubscriptionEvents(SubscriptionStore store, SubscriptionFilter filters, RealtimeFanout fanout, ILogger<SubscriptionEvents> log)
{
    /// <param name="reachable">The users worth deciding for (the local hub's connected users); null = all subscribers.</param>
    public async Task<List<UserMessage>> ForAsync(ObjectChange change, IReadOnlySet<string>? reachable, CancellationToken ct)
    {
        var messages = new List<UserMessage>();
        var subscriptions = (await store.ForClassAsync(change.ClassName, ct)).Where(s => reachable is null || reachable.Contains(s.UserId)).ToList();
        if (subscriptions.Count == 0 || fanout.Schema(change.ClassName) is not { } schema) return messages;

        var auths = await fanout.AuthsForAsync(subscriptions.Select(s => s.UserId), ct);
        foreach (var subscription in subscriptions)
        {
            var auth = auths[subscription.UserId];
            QueryNode filter;
            try
            {
                filter = filters.Parse(auth, subscription.ClassName, subscription.WhereNode);
            }
            catch (ParseException e)
            {
                log.LogDebug("Subscription {SubscriptionId} no longer applies for its user: {Reason}", subscription.Id, e.Message);
                continue;
            }
            if (fanout.Decide(auth, schema, change, filter) is not { } payload) continue;
            payload["subscriptionId"] = subscription.Id;
            messages.Add(new UserMessage(subscription.UserId, RealtimeFanout.SubscriptionEvent, payload));
        }
        return messages;
    }
}
