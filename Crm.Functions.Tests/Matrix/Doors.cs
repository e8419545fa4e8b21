using System.Net;
using System.Text.Json.Nodes;

namespace Crm.Functions.Tests.Matrix;

/// <summary>
/// A way into the app. The permission matrix checks each door against one expectation table; a new door (the
/// LiveQuery WebSocket, files, MCP) joins the matrix by implementing <see cref="IQueryDoor"/> or
/// <see cref="IEventDoor"/> and adding one line to <see cref="MatrixDoors"/>.
/// </summary>
public interface IDoor
{
    string Name { get; }

    /// <summary>Whether this principal can use the door at all (real time addresses users: no anonymous, no master).</summary>
    bool Serves(Principal p);
}

/// <summary>A door that reads: one object by id and a find by a Parse where.</summary>
public interface IQueryDoor : IDoor
{
    /// <summary>The object as the door shows it to <paramref name="p"/>, or null when the door refuses it (a Parse error).</summary>
    Task<JsonObject?> ReadAsync(Principal p, string className, string objectId);

    /// <summary>The objects a find shows to <paramref name="p"/>, or null when the door has no find (e.g. GraphQL's node).</summary>
    Task<IReadOnlyList<JsonObject>?> FindAsync(Principal p, string className, JsonObject where);
}

/// <summary>A door that pushes: which events a user receives for the writes made while it listens.</summary>
public interface IEventDoor : IDoor
{
    /// <summary>Starts listening as <paramref name="p"/> to changes of these classes that match <paramref name="where"/>.</summary>
    Task<IEventListener> ListenAsync(Principal p, IReadOnlyList<string> classNames, JsonObject where);
}

public interface IEventListener : IAsyncDisposable
{
    /// <summary>The events received, in order, up to (without) the event of the given sentinel object.</summary>
    Task<IReadOnlyList<MatrixEvent>> UntilAsync(string sentinelId);
}

/// <summary>One pushed event: create / update / delete (or enter / leave) of one object, as the recipient sees it.</summary>
public sealed record MatrixEvent(string Op, string ClassName, string ObjectId, JsonObject? View);

/// <summary>Every door the permission matrix checks.</summary>
public static class MatrixDoors
{
    public static IReadOnlyList<IQueryDoor> QueryDoors(MatrixFixture fixture) =>
    [
        new RestDoor(fixture),
        new BatchDoor(fixture),
        new GraphQLDoor(fixture.Server),
        new GraphQLNodeDoor(fixture.Server),
        new RestIncludeDoor(fixture),
        new GraphQLPointerDoor(fixture.Server),
        new McpDoor(fixture.Server),
        new LiveQueryQueryDoor(fixture.Server),
        new HistoryDoor(fixture),
    ];

    public static IReadOnlyList<IEventDoor> EventDoors(MatrixFixture fixture) =>
    [
        new SignalRFeedDoor(fixture.Server),
        new HubSubscriptionDoor(fixture.Server),
        new HttpSubscriptionDoor(fixture.Server),
        new LiveQueryDoor(fixture.Server),
        new WebPubSubDoor(fixture.WebPubSub),
    ];

    public static readonly string[] QueryDoorNames = ["rest", "batch", "graphql", "graphql node", "rest include", "graphql pointer", "mcp", "history"];
    public static readonly string[] EventDoorNames = ["signalr feed", "signalr subscription", "http subscription", "livequery", "livequery web pubsub"];

    /// <summary>
    /// A refusal must be a Parse error (a 4xx with a code): "not visible" is what the matrix checks, but a 5xx or a
    /// body that is not a Parse error is a failure of its own, never counted as a refusal.
    /// </summary>
    internal static void EnsureParseRefusal(string door, HttpStatusCode status, JsonNode? json, string raw)
    {
        if ((int)status is >= 400 and < 500 && json?["code"] is JsonValue code && code.TryGetValue(out int _) && json["error"] is JsonValue)
            return;
        throw new Xunit.Sdk.XunitException($"{door}: expected a success or a Parse error, got HTTP {(int)status}: {raw}");
    }
}
