using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using GraphQL;
using GraphQL.Types;

namespace Crm.Functions.GraphQL;

internal sealed record EdgeView(ParseObj Node, string Cursor);
internal sealed record PageInfoView(bool HasNextPage, bool HasPreviousPage, string? StartCursor, string? EndCursor);
internal sealed record ConnectionView(IReadOnlyList<EdgeView> Edges, PageInfoView PageInfo, long Count);

/// <summary>Queries: <c>health</c>, <c>viewer</c>, <c>node</c>, and a get and a find per class.</summary>
internal sealed partial class SchemaFactory
{
    private void AddRootQueries(ObjectGraphType query)
    {
        query.AddField(Field("health", NonNull(Bool), _ => true));
        if (_classes.TryGetValue("_User", out var user))
        {
            _viewer.AddField(Field("user", new NonNullGraphType(user.Object), ctx => ((ViewerView)ctx.Source!).User));
            var viewer = Field("viewer", new NonNullGraphType(_viewer), null, "The caller (needs X-Parse-Session-Token or a bearer token; 209 otherwise).");
            viewer.Resolver = Async(async ctx =>
            {
                var rc = GraphQLRequestContext.Of(ctx);
                var userId = rc.Auth.UserId ?? throw new ParseException(ParseError.InvalidSessionToken, "Invalid session token");
                var json = await rc.Users.MeAsync(userId, rc.Auth.SessionToken, ctx.CancellationToken);
                return new ViewerView(rc.Auth.SessionToken, new ParseObj("_User", json));
            });
            query.AddField(viewer);
        }

        var node = Field("node", _node, null, "Any object by its global id.");
        node.Arguments = new QueryArguments(Argument("id", NonNull(Id)));
        node.Resolver = Async(async ctx =>
        {
            var id = GlobalIds.Text(Arg(ctx, "id"));
            if (!GlobalIds.TryDecode(id, out var className, out var objectId) || !_classes.ContainsKey(className)) throw ParseException.NotFound();
            var rc = GraphQLRequestContext.Of(ctx);
            return new ParseObj(className, await rc.Data.GetAsync(rc.Auth, className, objectId, null, ctx.CancellationToken));
        });
        query.AddField(node);
    }

    private void AddClassQueries(ObjectGraphType query, ClassTypes types)
    {
        var get = Field(types.GetName, new NonNullGraphType(types.Object), null, $"One {types.TypeName} by global id or objectId (101 when missing or not readable).");
        get.Arguments = new QueryArguments(Argument("id", NonNull(Id)));
        get.Resolver = Async(async ctx =>
        {
            var rc = GraphQLRequestContext.Of(ctx);
            var objectId = GlobalIds.ObjectIdFor(GlobalIds.Text(Arg(ctx, "id")), types.ClassName);
            return new ParseObj(types.ClassName, await rc.Data.GetAsync(rc.Auth, types.ClassName, objectId, null, ctx.CancellationToken));
        });
        query.AddField(get);

        var find = Field(types.FindName, new NonNullGraphType(types.Connection), null, $"{types.TypeName} objects the caller may read, as a Relay connection.");
        find.Arguments = FindArguments(types);
        find.Resolver = Async(ctx => FindConnectionAsync(ctx, types, null));
        query.AddField(find);
    }

    private static QueryArguments FindArguments(ClassTypes types) => new(
        Argument("where", types.Where),
        Argument("order", new ListGraphType(new NonNullGraphType(types.Order))),
        Argument("skip", Int),
        Argument("first", Int),
        Argument("after", Str),
        Argument("last", Int),
        Argument("before", Str));

    /// <summary>
    /// Relay paging over Parse's skip/limit, as parse-server does: cursors are offsets, <c>after</c> moves the
    /// skip, <c>before</c> trims the limit, <c>last</c> trims a limit or counts first; count runs only when selected.
    /// </summary>
    private async Task<object?> FindConnectionAsync(IResolveFieldContext ctx, ClassTypes types, JsonObject? relatedTo)
    {
        var rc = GraphQLRequestContext.Of(ctx);
        var where = Arg(ctx, "where") is IDictionary<string, object?> w ? TranslateWhere(types, w) : [];
        if (relatedTo is not null) where["$relatedTo"] = relatedTo;
        var order = Arg(ctx, "order") is IEnumerable<object?> keys ? string.Join(',', keys.OfType<string>()) : null;
        var skipArg = Arg(ctx, "skip") as int?;
        var first = Arg(ctx, "first") as int?;
        var last = Arg(ctx, "last") as int?;
        if (skipArg < 0 || first < 0 || last < 0) throw new ParseException(ParseError.InvalidQuery, "skip, first and last must not be negative.");

        long skip = skipArg ?? 0;
        if (Arg(ctx, "after") is string after) skip += DecodeCursor(after) + 1;
        long? limit = first;
        if (Arg(ctx, "before") is string before)
        {
            var room = Math.Max(0, DecodeCursor(before) - skip);
            limit = limit is null ? room : Math.Min(limit.Value, room);
        }
        var selected = ctx.SubFields?.Values.Select(f => f.Field.Name.StringValue).ToHashSet(StringComparer.Ordinal);
        var wantsCount = selected is null || selected.Contains("count") || selected.Contains("pageInfo");
        var wantsResults = selected is null || selected.Contains("edges") || selected.Contains("pageInfo");

        long? count = null;
        if (last is not null)
        {
            if (limit is not null)
            {
                if (last < limit) { skip += limit.Value - last.Value; limit = last; }
            }
            else
            {
                count = (await rc.Data.FindAsync(rc.Auth, types.ClassName, new FindRequest { Where = where.DeepClone(), Limit = 0, Count = true }, ctx.CancellationToken)).Count;
                limit = last;
                if (skip + last < count) skip = count.Value - last.Value;
            }
        }
        if (skip > int.MaxValue || limit > int.MaxValue) throw new ParseException(ParseError.InvalidQuery, "skip or limit is too large.");
        if (!wantsResults) limit = 0;

        var request = new FindRequest { Where = where, Order = order, Skip = (int)skip, Limit = (int?)limit, Count = wantsCount && count is null };
        var result = await rc.Data.FindAsync(rc.Auth, types.ClassName, request, ctx.CancellationToken);
        count ??= result.Count ?? 0;
        var edges = result.Results.Select((o, i) => new EdgeView(new ParseObj(types.ClassName, o), EncodeCursor(skip + i))).ToList();
        var pageInfo = new PageInfoView(
            HasNextPage: count > skip + edges.Count,
            HasPreviousPage: skip > 0 && count > 0,
            StartCursor: edges.Count > 0 ? edges[0].Cursor : null,
            EndCursor: edges.Count > 0 ? edges[^1].Cursor : null);
        return new ConnectionView(edges, pageInfo, count.Value);
    }

    internal static string EncodeCursor(long offset) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes("arrayconnection:" + offset.ToString(CultureInfo.InvariantCulture)));

    internal static long DecodeCursor(string cursor)
    {
        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(cursor));
            if (text.StartsWith("arrayconnection:", StringComparison.Ordinal)
                && int.TryParse(text.AsSpan(16), NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
                return offset;
        }
        catch (FormatException)
        {
        }
        throw new ParseException(ParseError.InvalidQuery, "Invalid cursor.");
    }
}
