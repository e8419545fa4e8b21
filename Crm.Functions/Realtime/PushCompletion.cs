namespace Crm.Functions.Realtime;

/// <summary>
/// Knows when every send of one change's push has run: the sends go to many recipients' queues (<see cref="RecipientQueues"/>)
/// and finish in any order, long after the pump moved on. Calls its callback once, after <see cref="Sealed"/> and the last
/// send, with whether the push must be tried again: its fan-out failed, or the process stopped before all sends ran.
/// Without a callback it only passes sends on.
/// </summary>
internal sealed class PushCompletion(Func<bool, Task>? completed, CancellationToken stopping)
{
    private int _open = 1; // the publisher's own share, given up by Sealed
    private volatile bool _failed;

    /// <summary>Queues a send for the recipient, counted until it has run (or was dropped by a full queue).</summary>
    public void Enqueue(RecipientQueues queues, string recipient, Func<Task> send)
    {
        if (completed is null)
        {
            queues.Enqueue(recipient, send);
            return;
        }
        Interlocked.Increment(ref _open);
        // A failed send is logged by the queue and counts as run: the outbox guards against a dying process, not a refusing
        // client (retrying one would push to everybody again, forever). A send cut short by shutdown did not run.
        if (!queues.Enqueue(recipient, async () =>
        {
            try { await send(); }
            finally
            {
                if (stopping.IsCancellationRequested) _failed = true;
                Release();
            }
        })) Release();
    }

    /// <summary>The fan-out failed before handing out all sends.</summary>
    public void Failed() => _failed = true;

    /// <summary>No more sends will be handed out.</summary>
    public void Sealed() => Release();

    private void Release()
    {
        // A push cut short by shutdown (also before any send was handed out) is not done: its record stays for the next process.
        if (Interlocked.Decrement(ref _open) == 0 && completed is not null) _ = completed(_failed || stopping.IsCancellationRequested);
    }
}
