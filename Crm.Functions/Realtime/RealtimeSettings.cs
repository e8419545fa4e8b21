namespace Crm.Functions.Realtime;

/// <summary>Real-time settings, bound from the "Realtime" section (env <c>Realtime__HubPath</c>, …).</summary>
internal sealed class RealtimeSettings
{
    public const string Section = "Realtime";

    /// <summary>Hub name: the local hub's name and the Azure SignalR Service hub (<c>?hub=</c>).</summary>
    public string HubName { get; set; } = "crm";

    /// <summary>Path of the app's own hub (used when no Azure SignalR Service is configured).</summary>
    public string HubPath { get; set; } = "/hubs/crm";

    /// <summary>
    /// Classes whose changes every reader receives without subscribing (the dashboard feed): these, plus every class
    /// declared with <see cref="Core.Schema.ClassDeclaration.Feed"/> (the CRM template declares Deal and Activity).
    /// </summary>
    public List<string> FeedClasses { get; set; } = [];

    /// <summary>Lifetime of the access token returned by /negotiate; it is checked only when a connection opens.</summary>
    public int TokenMinutes { get; set; } = 15;

    /// <summary>
    /// Whether committed writes of this process are pushed (local hub, or the Azure REST API): true = all,
    /// false = none. Default: all without Azure SignalR; with it only deletes, because there the Cosmos change
    /// feed delivers creates and updates (pushing them too would send them twice) but never hard deletes.
    /// </summary>
    public bool? PushFromWrites { get; set; }

    /// <summary>Hub-method subscriptions per connection (they end with it).</summary>
    public int MaxSubscriptionsPerConnection { get; set; } = 100;

    /// <summary>How long an HTTP subscription lives unless renewed (POSTed again with its id).</summary>
    public int SubscriptionHours { get; set; } = 24;

    /// <summary>Live HTTP subscriptions per user: each one costs a filter evaluation on every change of its class.</summary>
    public int MaxSubscriptionsPerUser { get; set; } = 100;

    /// <summary>
    /// Whether writes of the feed classes keep their previous state (in the internal field <c>_rtPrev</c>) for the
    /// change-feed endpoint to send removals and previous stages. Default: on with the Cosmos store, the only one
    /// with a change feed; off otherwise.
    /// </summary>
    public bool? KeepPreviousState { get; set; }

    /// <summary>How long a user who negotiated counts as a candidate reader of public objects (Azure path).</summary>
    public int PresenceHours { get; set; } = 12;

    /// <summary>Open hub connections per user on one instance; more are refused (429) when they connect.</summary>
    public int MaxConnectionsPerUser { get; set; } = 20;

    /// <summary>Largest subscription where, as JSON text in UTF-8 bytes (both doors); larger ones are refused (116).</summary>
    public int MaxWhereBytes { get; set; } = 8 * 1024;

    /// <summary>
    /// What deciding one subscription's event for one change may spend (wall time and regex time, its own budget):
    /// a subscription that exceeds it gets an error event and is removed, for its subscriber only.
    /// </summary>
    public int EvaluationMilliseconds { get; set; } = 500;

    /// <summary>How often open hub connections are checked against their session (revoked on another instance, expired).</summary>
    public int SessionCheckSeconds { get; set; } = 60;

    /// <summary>
    /// How long a delete's real-time push may take before its outbox record counts as left behind by a process that died,
    /// and is pushed again by another one (or this one after a restart). Longer: fewer duplicate "deleted" events when a
    /// recipient is slow; shorter: a crashed instance's deletes reach their readers sooner.
    /// </summary>
    public double DeleteOutboxGraceSeconds { get; set; } = 30;
}
