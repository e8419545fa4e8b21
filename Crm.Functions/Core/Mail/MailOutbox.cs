using System.Threading.Channels;

namespace Crm.Functions.Core.Mail;

/// <summary>
/// Account mail work (write a token, render, talk to the SMTP relay) runs here, after the request has been answered.
/// The answer to "send me a link" is then the same, in content and in time, whether or not an account has the
/// address: nothing a caller can measure depends on the slow part. Bounded: when the relay falls far behind, new
/// work is dropped (and logged) instead of growing memory.
/// </summary>
internal sealed class MailOutbox(ILogger<MailOutbox> log) : BackgroundService
{
    private readonly Channel<Func<CancellationToken, Task>> _work = Channel.CreateBounded<Func<CancellationToken, Task>>(
        new BoundedChannelOptions(1000) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    public void Enqueue(Func<CancellationToken, Task> work)
    {
        if (!_work.Writer.TryWrite(work)) log.LogWarning("The mail outbox is full: an account mail was dropped.");
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var work in _work.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(60));
                await work(timeout.Token);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                log.LogError(e, "An account mail could not be sent.");
            }
        }
    }
}
