namespace Crm.Functions.LiveQuery;

/// <summary>Parse LiveQuery settings, bound from the "LiveQuery" section (env <c>LiveQuery__ClassNames__0</c>, …).</summary>
internal sealed class LiveQuerySettings
{
    public const string Section = "LiveQuery";

    /// <summary>
    /// Classes that may be subscribed. Empty (the default): every class the caller may <c>find</c>. Subscriptions to
    /// other classes are refused (119) rather than accepted and left silent, so a misconfiguration shows at once.
    /// </summary>
    public List<string> ClassNames { get; set; } = [];

    /// <summary>Connected LiveQuery sockets per user on one instance; a further <c>connect</c> gets error 155.</summary>
    public int MaxConnectionsPerUser { get; set; } = 20;

    /// <summary>Open LiveQuery sockets per client address on one instance (signed in or not); more are refused with 155 and closed.</summary>
    public int MaxConnectionsPerIp { get; set; } = 200;

    /// <summary>Subscriptions per socket: each one costs a filter evaluation on every change of its class.</summary>
    public int MaxSubscriptionsPerConnection { get; set; } = 100;

    /// <summary>Largest client frame in bytes; a larger one gets error 116 and the socket is closed (1009).</summary>
    public int MaxFrameBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// Frames waiting to be sent to one socket. A client that falls this far behind is closed (it reconnects and
    /// resubscribes), so a slow reader costs bounded memory and never delays anybody else's events.
    /// </summary>
    public int MaxPendingFrames { get; set; } = 1000;

    /// <summary>How often the server pings each socket; one that does not answer within another interval is closed.</summary>
    public int PingSeconds { get; set; } = 10;
}
