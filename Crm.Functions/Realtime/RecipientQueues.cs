namespace Crm.Functions.Realtime;

/// <summary>
/// Sends to each recipient in the order given, without one recipient holding up the others: a chain of
/// sends per user. Awaiting each send in the pump's loop let one slow client (a full SignalR buffer) or one
/// slow REST call stall every later event for everybody. A recipient more than
/// <see cref="MaxPendingPerRecipient"/> sends behind loses the newest ones (such a client is gone or
/// about to be dropped by SignalR's timeouts).
/// </summary>
internal sealed class RecipientQueues(ILogger<RecipientQueues> log)
{
    public const int MaxPendingPerRecipient = 1000;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, (Task Tail, int Pending)> _queues = new(StringComparer.Ordinal);

    /// <summary>Queues a send after the recipient's earlier ones; failures are logged, never thrown. False: dropped.</summary>
    public bool Enqueue(string recipient, Func<Task> send)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task previous;
        lock (_gate)
        {
            var (tail, pending) = _queues.GetValueOrDefault(recipient, (Task.CompletedTask, 0));
            if (pending >= MaxPendingPerRecipient)
            {
                log.LogWarning("Real-time recipient {Recipient} is {Pending} messages behind; a message was dropped", recipient, pending);
                RealtimeMetrics.DroppedOne();
                return false;
            }
            _queues[recipient] = (done.Task, pending + 1);
            previous = tail;
        }
        RealtimeMetrics.Queued();
        _ = RunAsync(recipient, previous, send, done);
        return true;
    }

    private async Task RunAsync(string recipient, Task previous, Func<Task> send, TaskCompletionSource done)
    {
        await previous; // never faults: each link catches its own failure
        try
        {
            await send();
        }
        catch (OperationCanceledException)
        {
            // shutting down
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Real-time send to {Recipient} failed", recipient);
        }
        finally
        {
            lock (_gate)
            {
                var (tail, pending) = _queues[recipient];
                if (pending == 1) _queues.Remove(recipient);
                else _queues[recipient] = (tail, pending - 1);
            }
            RealtimeMetrics.Sent();
            done.SetResult();
        }
    }
}
