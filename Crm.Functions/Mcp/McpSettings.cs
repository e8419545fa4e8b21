namespace Crm.Functions.Mcp;

/// <summary>
/// The Model Context Protocol door at <c>/mcp</c>, bound from the "Mcp" configuration section (env <c>Mcp__Enabled</c>,
/// <c>Mcp__ReadOnly</c>). AI assistants use it with the rights of the user whose token they carry.
/// </summary>
internal sealed class McpSettings
{
    public const string Section = "Mcp";

    /// <summary>The route is where the Functions package forwards it (functions/mcp), so it is not configurable.</summary>
    public const string Path = "/mcp";

    /// <summary>The RFC 9728 metadata document that the 401 answer points clients to.</summary>
    public const string ResourceMetadataPath = "/.well-known/oauth-protected-resource";

    /// <summary>Off: neither /mcp nor its metadata document is mapped (404).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Only the tools that read are listed and callable; create, update, delete and log_activity are refused.</summary>
    public bool ReadOnly { get; set; }
}
