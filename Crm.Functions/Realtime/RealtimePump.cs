using System.Threading.Channels;
using Crm.Functions.Core;
using Crm.Functions.LiveQuery;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Realtime;

/// <summary>
/// Pushes the committed writes of this process: <see cref="DataService.Changed"/> feeds one channel read by
/// one loop, which decides every recipient's feed event in commit order and hands the sends to
/// <see cref="RecipientQueues"/> (per user, in that order: a "deleted" can never overtake its "created").
/// Subscription filters, written by their subscribers, are decided on those per-user queues too
/// (<see cref="SubscriberEvaluation"/>). Neither a slow client, nor a slow filter, nor a failing push delays the
/// HTTP write that caused it, or other users' events. A delete's push is also in the outbox
/// (<see cref="DeletePushOutbox"/>): its record goes once every send of the push has run, and records a process left
/// behind are pushed again by this loop's sweep.
/// </summary>
internal sealed class RealtimePump(
    DataService data,
    RealtimeFanout fanout,
    Subscriptions subscriptions,
    SubscriptionEvents subscriptionEvents,
    SubscriberEvaluation evaluation,
    ReaderCandidates candidates,
    RecipientQueues queues,
    IHubContext<RealtimeHub> hub,
    IOptions<RealtimeSettings> options,
    LiveQueryServer liveQuery,
    ILogger<RealtimePump> log,
    AzureConnection azureConnection,
    DeletePushOutbox outbox,
    Hosting.StartupReadiness readiness,
    WebPubSubLiveQuery? webPubSub = null) : BackgroundService
{
    private readonly AzureSignalR? azure = azureConnection.Service;
    private readonly RealtimeSettings _settings = options.Value;

    /// <summary>A change to push; <see cref="OutboxId"/> names its outbox record (deletes of app classes), if any.</summary>
    private readonly record struct Queued(ObjectChange Change, long Committed, System.Diagnostics.ActivityContext Writer, string? OutboxId);

    // A change dropped for want of room keeps its outbox record, which the sweep pushes later.
    private readonly Channel<Queued> _changes = Channel.CreateBounded<Queued>(
        new BoundedChannelOptions(100_000) { SingleReader = true, FullMode = BoundedChannelFullMode.DropOldest },
        dropped => { if (dropped.OutboxId is { } id) outbox.Abandoned(id); });

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
        // The writing request's trace context travels with the change: its fan-out shows in the same trace. LiveQuery
        // sockets are this process's own: every write made here reaches them, whatever Azure delivers.
        // A delete with an outbox record always goes through the loop, which removes the record when its push is done.
        var outboxId = change.Kind == "deleted" && change.ChangeId is { } id && outbox.Records(change.ClassName, JournalChange.Delete) ? id : null;
        if (outboxId is null && !Pushes(change) && !liveQuery.HasConnections && webPubSub is null) return;
        if (outboxId is not null) outbox.Pushing(outboxId);
        _changes.Writer.TryWrite(new Queued(change, System.Diagnostics.Stopwatch.GetTimestamp(), System.Diagnostics.Activity.Current?.Context ?? default, outboxId));
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(PumpAsync(stoppingToken), SweepOutboxAsync(stoppingToken));

    private async Task PumpAsync(CancellationToken stoppingToken)
    {
        await foreach (var (change, committed, writer, outboxId) in _changes.Reader.ReadAllAsync(stoppingToken))
        {
            using var activity = RealtimeMetrics.StartFanOut(change, writer);
            var sends = new PushCompletion(outboxId is null ? null : failed => Settle(outboxId, failed), stoppingToken);
            try
            {
                await PublishAsync(change, sends, stoppingToken);
                RealtimeMetrics.FannedOut(change.ClassName, System.Diagnostics.Stopwatch.GetElapsedTime(committed));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                sends.Failed();
                log.LogWarning(e, "Real-time push failed for a {ClassName} change", change.ClassName);
            }
            finally
            {
                sends.Sealed();
            }
        }
    }

    /// <summary>The outbox record of a push whose sends have all run goes; one whose fan-out failed stays for the sweep.</summary>
    private async Task Settle(string outboxId, bool failed)
    {
        if (failed)
        {
            outbox.Abandoned(outboxId);
            return;
        }
        try
        {
            await outbox.CompletedAsync(outboxId);
        }
        catch (Exception e)
        {
            // The record stays and the sweep pushes it again: a duplicate "deleted" event, never a lost one.
            outbox.Abandoned(outboxId);
            log.LogWarning(e, "The real-time outbox record {OutboxId} could not be removed", outboxId);
        }
    }

    /// <summary>
    /// Pushes the deletes whose outbox records no live process is pushing (<see cref="DeletePushOutbox.TakeAbandonedAsync"/>):
    /// a process that died after committing them, or a fan-out that failed.
    /// </summary>
    private async Task SweepOutboxAsync(CancellationToken ct)
    {
        var interval = TimeSpan.FromSeconds(Math.Max(0.1, _settings.DeleteOutboxGraceSeconds / 2));
        try
        {
            while (!readiness.IsReady) await Task.Delay(50, ct);
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    foreach (var change in await outbox.TakeAbandonedAsync(ct))
                        _changes.Writer.TryWrite(new Queued(change, System.Diagnostics.Stopwatch.GetTimestamp(), default, change.ChangeId));
                }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    log.LogWarning(e, "Reading the real-time outbox failed; retrying.");
                }
                await Task.Delay(interval, ct);
            }
        }
        catch (OperationCanceledException) { }
    }

    private async Task PublishAsync(ObjectChange change, PushCompletion sends, CancellationToken ct)
    {
        liveQuery.Publish(change, ct);
        // LiveQuery connections held by Azure Web PubSub get every write from the instance that made it, like the
        // sockets: it knows the state before and after, and the change feed (feed classes only) would send twice.
        if (webPubSub is not null) await webPubSub.PublishAsync(change, ct);
        if (!Pushes(change)) return;
        // The local hub knows who is connected: exactly those users are candidates. Azure does not tell us.
        var connected = azure is null ? subscriptions.ConnectedUsers.ToHashSet(StringComparer.Ordinal) : null;
        if (_settings.FeedClasses.Contains(change.ClassName, StringComparer.Ordinal))
            foreach (var message in await fanout.FeedAsync(change, connected ?? await candidates.ForAsync(change.Before, change.After, ct), ct))
                sends.Enqueue(queues, message.UserId, () => SendAsync(message, ct));

        // Subscription filters are the subscribers' own code, so each subscriber's are decided on its own queue, after
        // its feed events: a slow or failing filter delays that subscriber only, never this loop or other users.
        foreach (var (userId, stored) in await subscriptionEvents.SubscribersAsync(change, connected, ct))
        {
            var own = change.Copy();
            sends.Enqueue(queues, userId, async () =>
            {
                await Task.Yield(); // off this loop even when the queue is empty
                foreach (var message in await subscriptionEvents.ForUserAsync(userId, stored, own, ct)) await SendAsync(message, ct);
            });
        }
        PublishHubSubscriptions(change, sends, ct);
    }

    private Task SendAsync(UserMessage message, CancellationToken ct) => azure is not null
        ? azure.SendToUserAsync(_settings.HubName, message.UserId, message.Target, message.Payload, ct)
        : hub.Clients.User(message.UserId).SendAsync(message.Target, message.Payload, ct);

    /// <summary>
    /// Hub-method subscriptions (local hub, per connection): each decided with the subscriber's current roles, on the
    /// subscriber's queue like the stored ones; a failing one is removed from its connection, which gets its error event.
    /// </summary>
    private void PublishHubSubscriptions(ObjectChange change, PushCompletion sends, CancellationToken ct)
    {
        if (fanout.Schema(change.ClassName) is not { } schema) return;
        foreach (var byUser in subscriptions.For(change.ClassName).GroupBy(m => m.UserId, StringComparer.Ordinal))
        {
            var userId = byUser.Key;
            var matches = byUser.ToList();
            var own = change.Copy();
            sends.Enqueue(queues, userId, async () =>
            {
                await Task.Yield(); // off the pump's loop even when the queue is empty
                var auth = await fanout.AuthForAsync(userId, ct);
                var connectionOf = matches.ToDictionary(m => m.Subscription.Id, m => m.ConnectionId, StringComparer.Ordinal);
                var toDecide = matches.Select(m => new SubscriptionToDecide(m.Subscription.Id, () => m.Subscription.Filter)).ToList();
                foreach (var outcome in await evaluation.DecideAsync(auth, schema, own, toDecide, ct))
                {
                    var connectionId = connectionOf[outcome.SubscriptionId];
                    if (outcome.Failed) subscriptions.Remove(connectionId, outcome.SubscriptionId);
                    await hub.Clients.Client(connectionId).SendAsync(RealtimeFanout.SubscriptionEvent, outcome.Payload, ct);
                }
            });
        }
    }
}
