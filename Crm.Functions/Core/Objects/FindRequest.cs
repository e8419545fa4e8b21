using System.Text.Json.Nodes;

namespace Crm.Functions.Core;

/// <summary>A query in the core's terms; REST parameters and GraphQL arguments both become this.</summary>
internal sealed record FindRequest
{
    public JsonNode? Where { get; init; }
    /// <summary>Parse's order syntax: "field", "-field", comma-separated.</summary>
    public string? Order { get; init; }
    public int? Limit { get; init; }
    public int Skip { get; init; }
    public IReadOnlyList<string>? Keys { get; init; }
    public IReadOnlyList<string>? ExcludeKeys { get; init; }
    public IReadOnlyList<string>? Include { get; init; }
    public bool Count { get; init; }
    public string? RedirectClassNameForKey { get; init; }
}

internal sealed record FindResult(IReadOnlyList<JsonObject> Results, long? Count, string? ClassName = null);

/// <summary>What a create or update answers: Parse's response body, and the stored object for callers that need it.</summary>
internal sealed record WriteResult(JsonObject Response, Store.StoredObject Object);

/// <summary>
/// A committed change, for real-time fan-out. <paramref name="ChangeId"/> is the journaled change's id (null when no journal
/// recorded it): the real-time outbox's record of a delete push is named by it.
/// </summary>
internal sealed record ObjectChange(string Kind, string ClassName, Store.StoredObject? Before, Store.StoredObject? After, string? ChangeId = null);
