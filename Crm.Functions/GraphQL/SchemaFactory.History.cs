using System.Text.Json.Nodes;
using GraphQL.Types;

namespace Crm.Functions.GraphQL;

/// <summary>
/// <c>history(className, objectId, limit, skip)</c>: an object's recorded changes, newest first, through the same
/// <see cref="Core.History.HistoryService"/> and read decision as REST's <c>/classes/{className}/{objectId}/history</c>.
/// A root query rather than a field of the class types: the history of a deleted object stays readable, and there is
/// no object left to hang it on.
/// </summary>
internal sealed partial class SchemaFactory
{
    private static void AddHistoryQuery(ObjectGraphType query, AnyScalar any, DateScalar date)
    {
        var change = new ObjectGraphType { Name = "HistoryFieldChange", Description = "One field a change set, changed or unset." };
        change.AddField(Field("field", NonNull(Str), ctx => Json(ctx)["field"]?.ToString()));
        change.AddField(Field("old", any, ctx => Json(ctx)["old"], "The value before (Parse's JSON encoding); null on create."));
        change.AddField(Field("new", any, ctx => Json(ctx)["new"], "The value after; null when the field was unset."));

        var entry = new ObjectGraphType { Name = "HistoryEntry", Description = "One recorded create, update or delete of an object." };
        entry.AddField(Field("id", NonNull(Id), ctx => Json(ctx)["id"]?.ToString(), "The change's id."));
        entry.AddField(Field("event", NonNull(Str), ctx => Json(ctx)["event"]?.ToString(), "create, update or delete."));
        entry.AddField(Field("at", new NonNullGraphType(date), ctx => Json(ctx)["at"]?.DeepClone()));
        entry.AddField(Field("sequence", NonNull(Int), ctx => (int?)JsonValues.Number(Json(ctx)["sequence"]), "The change's number within the object: 1, 2, 3, …"));
        entry.AddField(Field("userId", Id, ctx => Json(ctx)["user"]?["objectId"]?.ToString(), "The objectId of the user who made it; null for the master key or the server."));
        entry.AddField(Field("master", NonNull(Bool), ctx => JsonValues.Bool(Json(ctx)["master"]) ?? false));
        entry.AddField(Field("door", NonNull(Str), ctx => Json(ctx)["door"]?.ToString(), "rest, batch, graphql, mcp, … or server."));
        entry.AddField(Field("changes", new NonNullGraphType(new ListGraphType(new NonNullGraphType(change))),
            ctx => Json(ctx)["changes"]!.AsArray().Select(c => c!.AsObject()).ToList()));

        var history = Field("history", new NonNullGraphType(new ListGraphType(new NonNullGraphType(entry))), null,
            "An object's recorded changes, newest first, for whoever may read the object (101 otherwise); see docs/history.md.");
        history.Arguments = new QueryArguments(
            Argument("className", NonNull(Str)),
            Argument("objectId", NonNull(Id), "Global id or objectId."),
            Argument("limit", Int, "At most this many (50 by default, at most 1000)."),
            Argument("skip", Int));
        history.Resolver = Async(async ctx =>
        {
            var rc = GraphQLRequestContext.Of(ctx);
            var className = (string)Arg(ctx, "className")!;
            var objectId = GlobalIds.ObjectIdFor(GlobalIds.Text(Arg(ctx, "objectId")), className);
            return await rc.History.ReadAsync(rc.Auth, className, objectId, Arg(ctx, "limit") as int?, Arg(ctx, "skip") as int?, ctx.CancellationToken);
        });
        query.AddField(history);
    }

    private static JsonObject Json(global::GraphQL.IResolveFieldContext ctx) => (JsonObject)ctx.Source!;
}
