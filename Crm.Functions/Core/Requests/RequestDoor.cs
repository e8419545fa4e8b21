namespace Crm.Functions.Core.Requests;

/// <summary>
/// The door the running request came in through ("rest", "batch", "graphql", "mcp", "livequery", …), for the records
/// that say how a change was made (the record history). Ambient like <see cref="RequestBudget"/>: it is known at the
/// door, far above the core write that records it, and every door already names itself once for its telemetry
/// (<c>RequestTelemetry.Describe</c>), which sets it. Null for work the server starts itself (start-up, the CLI, jobs).
/// </summary>
internal static class RequestDoor
{
    private static readonly AsyncLocal<string?> Ambient = new();

    public static string? Current => Ambient.Value;

    /// <summary>
    /// Names the door for the rest of the caller's async flow. A synchronous method on purpose: a value set here flows
    /// back to the (async) caller, as <see cref="RequestBudget.Begin"/>'s does.
    /// </summary>
    public static void Enter(string door) => Ambient.Value = door;
}
