using Crm.Functions.Core.Json;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Store;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Core.Webhooks;

/// <summary>
/// Delivers the outbox (<see cref="WebhookJournal"/>): at least once, in order per object and hook. It reads the
/// deliveries waiting (woken by local writes, else every <see cref="WebhookSettings.PollMilliseconds"/>), and for each
/// object and hook sends them one after the other from the lowest sequence: a delivery waiting for a retry, still held or
/// leased by another instance holds back the object's later ones. Before sending, in its turn for the URL, a delivery is leased (an atomic update),
/// so that instances reading the same outbox do not send it twice; a lease outlives a crashed sender only briefly, after
/// which another instance sends it again (hence at least once). A failure is retried after
/// <see cref="WebhookSettings.InitialBackoffSeconds"/> doubled per attempt; after <see cref="WebhookSettings.MaxAttempts"/>
/// attempts it is dead (listed at <c>/hooks/deliveries?status=dead</c>) and the object's next delivery goes.
/// </summary>
internal sealed class WebhookDispatcher(
    IObjectStore store,
    DataService data,
    WebhookRegistry registry,
    WebhookSender sender,
    JournalRecovery recovery,
    IOptions<ParseSettings> options,
    TimeProvider time,
    ILogger<WebhookDispatcher> log) : BackgroundService
{
    private static readonly FieldDefinition Text = new(FieldType.String);
    private const int PageSize = 500;

    private readonly WebhookSettings _settings = options.Value.Webhooks;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly HashSet<string> _inFlight = new(StringComparer.Ordinal);
    private readonly Lock _inFlightLock = new();
    private readonly List<Task> _running = [];
    private DateTimeOffset _nextRefresh, _nextSettle, _nextPurge;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        data.Changed += OnChanged;
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        data.Changed -= OnChanged;
        await base.StopAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    private void OnChanged(ObjectChange change)
    {
        if (registry.HasTriggers(change.ClassName)) Wake();
    }

    private void Wake()
    {
        try { if (_wake.CurrentCount == 0) _wake.Release(); }
        catch (SemaphoreFullException) { }
        catch (ObjectDisposedException) { }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Hosted services start before the server opens its store and reads the hooks; a round before that would see the
        // outbox without its hooks and dead-letter every delivery as sent to a removed hook.
        try { await registry.Loaded.WaitAsync(stoppingToken); }
        catch (OperationCanceledException) { return; }
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RoundAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // The store may be starting or briefly unavailable: the outbox is still there on the next round.
                log.LogWarning(e, "Reading the webhook outbox failed; retrying.");
            }
            try { await _wake.WaitAsync(TimeSpan.FromMilliseconds(Math.Max(10, _settings.PollMilliseconds)), stoppingToken); }
            catch (OperationCanceledException) { break; }
        }
        Task[] running;
        lock (_inFlightLock) running = [.. _running];
        await Task.WhenAll(running);
    }

    /// <summary>One pass over the outbox: housekeeping when due, then every object whose next delivery may go.</summary>
    private async Task RoundAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        if (now >= _nextRefresh)
        {
            await registry.RefreshAsync(ct);
            _nextRefresh = now + WebhookRegistry.RefreshEvery;
        }
        if (now >= _nextSettle)
        {
            var grace = TimeSpan.FromSeconds(_settings.HeldGraceSeconds);
            await recovery.SettleAsync(WebhookJournal.ClassName, grace, ct);
            _nextSettle = now + TimeSpan.FromSeconds(Math.Max(1, _settings.HeldGraceSeconds / 2.0));
        }
        if (now >= _nextPurge)
        {
            await PurgeAsync(now, ct);
            _nextPurge = now + TimeSpan.FromHours(1);
        }

        var waiting = await store.FindAsync(new StoreQuery(WebhookJournal.ClassName,
            new InNode(FieldRef.Of("status", Text), [new StringValue(WebhookJournal.Pending), new StringValue(JournaledWrites.Held)], false),
            [new SortKey(FieldRef.Of("changedAt", Text), false)], 0, PageSize), ct);
        foreach (var group in waiting.GroupBy(d => $"{Str(d, "hook")}|{d.OwnerId}"))
        {
            var ordered = group.OrderBy(d => Num(d, "seq")).ThenBy(d => Str(d, "changedAt"), StringComparer.Ordinal).ToList();
            if (!MayGo(ordered[0], now)) continue;
            lock (_inFlightLock)
            {
                if (!_inFlight.Add(group.Key)) continue;
                _running.RemoveAll(t => t.IsCompleted);
                _running.Add(Task.Run(() => DeliverInOrderAsync(group.Key, ordered, ct), CancellationToken.None));
            }
        }
    }

    private static bool MayGo(StoredObject delivery, DateTimeOffset now)
    {
        var nowText = ParseDates.Format(now);
        if (Str(delivery, "status") != WebhookJournal.Pending) return false;
        if (string.CompareOrdinal(Str(delivery, "nextAt"), nowText) > 0) return false;
        return JournaledWrites.LeaseFree(delivery, now);
    }

    /// <summary>Sends an object's deliveries to one hook in sequence, stopping at the first that must wait.</summary>
    private async Task DeliverInOrderAsync(string key, List<StoredObject> ordered, CancellationToken ct)
    {
        try
        {
            foreach (var delivery in ordered)
            {
                if (!MayGo(delivery, time.GetUtcNow()) || !await DeliverAsync(delivery, ct)) break;
            }
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            log.LogWarning(e, "A webhook delivery could not be recorded; it is sent again later.");
        }
        catch (OperationCanceledException) { }
        finally
        {
            lock (_inFlightLock) _inFlight.Remove(key);
        }
    }

    /// <summary>Leases, sends and records one delivery; true when the object's next delivery may follow.</summary>
    private async Task<bool> DeliverAsync(StoredObject delivery, CancellationToken ct)
    {
        // Not in this instance's snapshot: registered by another instance since the last refresh, or removed.
        var hook = await registry.FindCurrentAsync(Str(delivery, "hook") ?? "", ct);
        // The turn to send comes before the lease, so that waiting for it holds no lease (WebhookSender.TurnAsync).
        using var turn = hook is null ? null : await sender.TurnAsync(hook.Url, ct);
        var leased = await JournaledWrites.LeaseAsync(store, delivery, time.GetUtcNow() + TimeSpan.FromSeconds(_settings.TimeoutSeconds * 2 + 30),
            current => MayGo(current, time.GetUtcNow()), ct);
        if (leased is null) return false;

        var attempts = (int)Num(leased, "attempts") + 1;
        var result = hook is null ? new SendResult(false, "the hook was removed") : await sender.SendInTurnAsync(hook, Str(leased, "payload") ?? "{}", ct);
        var now = time.GetUtcNow();
        var dead = !result.Ok && (hook is null || attempts >= _settings.MaxAttempts);
        await store.UpdateAsync(WebhookJournal.ClassName, delivery.ObjectId, QueryNode.True, current =>
        {
            current.Data["attempts"] = attempts;
            current.Data.Remove(JournaledWrites.LeaseField);
            current.UpdatedAt = ParseDates.Format(now);
            if (result.Ok)
            {
                current.Data["status"] = WebhookJournal.Delivered;
                current.Data["deliveredAt"] = ParseDates.Format(now);
                current.Data.Remove("lastError");
            }
            else
            {
                current.Data["lastError"] = result.Error;
                if (dead) current.Data["status"] = WebhookJournal.Dead;
                else current.Data["nextAt"] = ParseDates.Format(now + Backoff(attempts));
            }
            return ValueTask.FromResult<ObjectWrite?>(new ObjectWrite(current, []));
        }, CancellationToken.None);
        if (!result.Ok) log.LogInformation("Webhook delivery {Id} to {Url} failed (attempt {Attempt}): {Error}", delivery.ObjectId, hook?.Url, attempts, result.Error);
        if (!result.Ok && !dead) return false;
        return true;
    }

    private TimeSpan Backoff(int attempts) =>
        TimeSpan.FromSeconds(Math.Min(_settings.MaxBackoffSeconds, _settings.InitialBackoffSeconds * Math.Pow(2, Math.Min(attempts - 1, 30))));

    /// <summary>Removes delivered and dead deliveries older than the retention.</summary>
    private async Task PurgeAsync(DateTimeOffset now, CancellationToken ct)
    {
        var before = ParseDates.Format(now - TimeSpan.FromDays(_settings.RetentionDays));
        var where = QueryNode.And(
            new InNode(FieldRef.Of("status", Text), [new StringValue(WebhookJournal.Delivered), new StringValue(WebhookJournal.Dead)], false),
            new CompareNode(FieldRef.Of("changedAt", Text), CompareOp.Lt, new StringValue(before)));
        foreach (var old in await store.FindAsync(new StoreQuery(WebhookJournal.ClassName, where, [], 0, 1000), ct))
            await store.DeleteAsync(WebhookJournal.ClassName, old.ObjectId, QueryNode.True, ct);
    }

    private static string? Str(StoredObject o, string key) => JournaledWrites.Text(o, key);

    private static double Num(StoredObject o, string key) => JournaledWrites.Number(o.Data[key]);
}
