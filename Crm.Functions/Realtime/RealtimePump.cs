using System.Threading.Channels;
using Crm.Functions.Core;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Realtime;

/// <summary>
/// Pushes the committed writes of this process: <see cref="DataService.Changed"/> feeds one channel read by
/// one loop, which decides every recipient's event in commit order and hands the sends to
/// <see cref="RecipientQueues"/> (per user, in that order: a "deleted" can never overtake its "created").
/// Neither a slow client nor a failing push delays the HTTP write that caused it, or other users' events.
/// </summary>
internal sealed class RealtimePump(
    DataService data,
    RealtimeFanout fanout,
    Subscriptions subscriptions,
    SubscriptionEvents subscriptionEvents,
    ReaderCandidates candidates,
    RecipientQueues queues,
    IHubContext<RealtimeHub> hub,
    IOptions<RealtimeSettings> options,
    ILogger<RealtimePump> log,
    AzureConnection azureConnection) : BackgroundService
{
    private readonly AzureSignalR? azure = azureConnection.Service;
    private readonly Channel<ObjectChange> _changes = Channel.CreateBounded<ObjectChange>(
        new BoundedChannelOptions(100_000) { SingleReader = true, FullMode = BoundedChannelFullMode.DropOldest });
    private readonly RealtimeSettings _settings = options.Value;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (_settings.PushFromWrites != false) data.Changed += Enqueue;
        return base.StartAsync(cancellationToken);
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        data.Changed -= Enqueue;
        return base.StopAsync(cancellationToken);
    }

    /// <summary>
    /// Which writes this process pushes. Without Azure SignalR: all. With it, by default only deletes: the Cosmos
    /// change feed delivers creates and updates (pushing them here too would send them twice), but it never
    /// delivers hard deletes, and the deleting instance still knows the last state and its readers. Classes without a
    /// change feed (not feed classes) have only this path, for their subscriptions.
    /// </summary>
    private bool Pushes(ObjectChange change) => _settings.PushFromWrites
        ?? (azure is null || change.Kind == "deleted" || !_settings.FeedClasses.Contains(change.ClassName, StringComparer.Ordinal));

    private void Enqueue(ObjectChange change)
    {
        if (Pushes(change)) _changes.Writer.TryWrite(change);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var change in _changes.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await PublishAsync(change, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogWarning(e, "Real-time push failed for a {ClassName} change", change.ClassName);
            }
        }
    }

    private async Task PublishAsync(ObjectChange change, CancellationToken ct)
    {
        // The local hub knows who is connected: exactly those users are candidates. Azure does not tell us.
        var connected = azure is null ? subscriptions.ConnectedUsers.ToHashSet(StringComparer.Ordinal) : null;
        var messages = new List<UserMessage>();
        if (_settings.FeedClasses.Contains(change.ClassName, StringComparer.Ordinal))
            messages.AddRange(await fanout.FeedAsync(change, connected ?? await candidates.ForAsync(change.Before, change.After, ct), ct));
        messages.AddRange(await subscriptionEvents.ForAsync(change, connected, ct));
        foreach (var message in messages)
        {
            queues.Enqueue(message.UserId, azure is not null
                ? () => azure.SendToUserAsync(_settings.HubName, message.UserId, message.Target, message.Payload, ct)
                : () => hub.Clients.User(message.UserId).SendAsync(message.Target, message.Payload, ct));
        }
        await PublishSubscriptionsAsync(change, ct);
    }

    /// <summary>Hub-method subscriptions (local hub, per connection): each decided with the subscriber's current roles.</summary>
    private async Task PublishSubscriptionsAsync(ObjectChange change, CancellationToken ct)
    {
        var matches = subscriptions.For(change.ClassName).ToList();
        if (matches.Count == 0 || fanout.Schema(change.ClassName) is not { } schema) return;
        var auths = await fanout.AuthsForAsync(matches.Select(m => m.UserId), ct);
        foreach (var (connectionId, userId, subscription) in matches)
        {
            if (fanout.Decide(auths[userId], schema, change, subscription.Filter) is not { } payload) continue;
            payload["subscriptionId"] = subscription.Id;
            // Queued under the user, like the feed, so a user's feed and subscription events keep commit order.
            queues.Enqueue(userId, () => hub.Clients.Client(connectionId).SendAsync(RealtimeFanout.SubscriptionEvent, payload, ct));
        }
    }
}
