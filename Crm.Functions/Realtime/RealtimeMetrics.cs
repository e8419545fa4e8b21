using System.Diagnostics;
using System.Diagnostics.Metrics;
using Crm.Functions.Core.Telemetry;

namespace Crm.Functions.Realtime;

/// <summary>
/// Real time's gauges and timings, on the app's meter: how many sends wait in the per-recipient queues (the first
/// thing to look at when events arrive late), how long a change takes from commit to its last queued send, and how
/// many connections and subscriptions this instance holds.
/// </summary>
internal static class RealtimeMetrics
{
    private static readonly UpDownCounter<long> QueueDepth = CrmTelemetry.Meter.CreateUpDownCounter<long>(
        "crm.realtime.queue.depth", "{send}", "Sends waiting in the per-recipient queues.");
    private static readonly Counter<long> Dropped = CrmTelemetry.Meter.CreateCounter<long>(
        "crm.realtime.dropped", "{send}", "Sends dropped because their recipient was too far behind.");
    private static readonly Histogram<double> FanOut = CrmTelemetry.Meter.CreateHistogram<double>(
        "crm.realtime.fanout.duration", "s", "From a change's commit to the queuing of its last send (decisions included).");
    private static readonly UpDownCounter<long> Connections = CrmTelemetry.Meter.CreateUpDownCounter<long>(
        "crm.realtime.connections", "{connection}", "Open real-time connections (SignalR hub).");
    private static readonly UpDownCounter<long> SubscriptionCount = CrmTelemetry.Meter.CreateUpDownCounter<long>(
        "crm.realtime.subscriptions", "{subscription}", "Live subscriptions held by the open connections.");

    public static void Queued() => QueueDepth.Add(1);
    public static void Sent() => QueueDepth.Add(-1);
    public static void DroppedOne() => Dropped.Add(1);
    public static void Connected() => Connections.Add(1);
    public static void Disconnected(int subscriptions)
    {
        Connections.Add(-1);
        if (subscriptions > 0) SubscriptionCount.Add(-subscriptions);
    }
    public static void Subscribed() => SubscriptionCount.Add(1);
    public static void Unsubscribed() => SubscriptionCount.Add(-1);

    /// <summary>A span around one change's fan-out, in the writing request's trace: class and kind, never the object.</summary>
    public static Activity? StartFanOut(Core.ObjectChange change, ActivityContext writer)
    {
        var activity = CrmTelemetry.Source.StartActivity("realtime fanout", ActivityKind.Internal, writer);
        activity?.SetTag("crm.class", change.ClassName);
        activity?.SetTag("crm.change", change.Kind);
        return activity;
    }

    public static void FannedOut(string className, TimeSpan sinceCommit) =>
        FanOut.Record(sinceCommit.TotalSeconds, new KeyValuePair<string, object?>("crm.class", className));
}
