using System.Net;
using System.Text.Json.Nodes;

namespace Crm.Functions.Tests.Matrix;

/// <summary>
/// The record history, GET /classes/{class}/{id}/history: the object as its history shows it to the principal — its
/// recorded changes applied oldest first — or null when the history is refused (101 for an object it may not read).
/// The matrix's classes are recorded (<see cref="MatrixFixture"/>). It has no find.
/// </summary>
public sealed class HistoryDoor(MatrixFixture fixture) : IQueryDoor
{
    public string Name => "history";
    public bool Serves(Principal p) => true;

    public async Task<JsonObject?> ReadAsync(Principal p, string className, string objectId)
    {
        using var client = fixture.Client(p);
        var r = await client.GetAsync($"classes/{className}/{objectId}/history");
        if (r.Status != HttpStatusCode.OK)
        {
            MatrixDoors.EnsureParseRefusal(Name, r.Status, r.Json, r.Raw);
            return null;
        }
        var view = new JsonObject { ["objectId"] = objectId };
        foreach (var entry in r.Results.Reverse())
            foreach (var change in entry!["changes"]!.AsArray())
            {
                var field = change!["field"]!.GetValue<string>();
                if (change["new"] is { } value) view[field] = value.DeepClone();
                else view.Remove(field);
            }
        return view;
    }

    public Task<IReadOnlyList<JsonObject>?> FindAsync(Principal p, string className, JsonObject where) => Task.FromResult<IReadOnlyList<JsonObject>?>(null);
}
