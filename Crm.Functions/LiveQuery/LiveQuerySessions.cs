using Crm.Functions.Core.Users;
using Crm.Functions.Realtime;
using Microsoft.Extensions.Options;

namespace Crm.Functions.LiveQuery;

/// <summary>
/// Ends LiveQuery subscriptions with their sessions: at once when a session ends on this instance
/// (<see cref="SessionService.Ended"/>: logout, password change, deletion), and every
/// <see cref="RealtimeSettings.SessionCheckSeconds"/> for sessions that expired or ended on another instance.
/// </summary>
internal sealed class LiveQuerySessions(
    LiveQueryServer server,
    SessionService sessions,
    IOptions<RealtimeSettings> options,
    TimeProvider time,
    ILogger<LiveQuerySessions> log) : BackgroundService
{
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        sessions.Ended += OnEnded;
        return base.StartAsync(cancellationToken);
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        sessions.Ended -= OnEnded;
        return base.StopAsync(cancellationToken);
    }

    private void OnEnded(SessionInfo session) => server.SessionEnded(session.ObjectId);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, options.Value.SessionCheckSeconds)), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    var now = time.GetUtcNow();
                    foreach (var (sessionId, until) in server.SessionsInUse().ToList())
                        if (until <= now || await sessions.FindByIdAsync(sessionId, stoppingToken) is null) server.SessionEnded(sessionId);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    log.LogWarning(e, "Checking LiveQuery subscriptions against their sessions failed");
                }
            }
        }
        catch (OperationCanceledException)
        {
            // shutting down
        }
    }
}
