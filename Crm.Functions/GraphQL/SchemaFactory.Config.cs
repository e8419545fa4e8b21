using System.Text.Json.Nodes;
using Crm.Functions.Core;
using GraphQL.Types;

namespace Crm.Functions.GraphQL;

internal sealed record ConfigValueView(string? Value, bool? IsMasterKeyOnly);
internal sealed record ConfigPayload(ConfigValueView CloudConfig, string? ClientMutationId);

/// <summary>
/// Parse's GraphQL global-config fields: <c>cloudConfig(paramName)</c> and <c>updateCloudConfig</c>, master key only
/// (119 otherwise, as parse-server). Values travel as strings: a string parameter as is, any other as its JSON text.
/// </summary>
internal sealed partial class SchemaFactory
{
    private static void AddConfigFields(ObjectGraphType query, ObjectGraphType mutation)
    {
        var valueType = new ObjectGraphType { Name = "ConfigValue" };
        valueType.AddField(Field("value", Str, ctx => ((ConfigValueView)ctx.Source!).Value));
        valueType.AddField(Field("isMasterKeyOnly", Bool, ctx => ((ConfigValueView)ctx.Source!).IsMasterKeyOnly));

        var read = Field("cloudConfig", new NonNullGraphType(valueType), null, "One parameter of the global config (master key only).");
        read.Arguments = new QueryArguments(Argument("paramName", NonNull(Str)));
        read.Resolver = Async(async ctx =>
        {
            var rc = GraphQLRequestContext.Of(ctx);
            if (!rc.Auth.IsMaster) throw new ParseException(ParseError.OperationForbidden, "Master Key is required to access GlobalConfig.");
            var name = (string)Arg(ctx, "paramName")!;
            var config = await rc.Config.ReadAsync(rc.Auth, ctx.CancellationToken);
            if (config["params"]![name] is not { } value) return new ConfigValueView(null, null);
            var flag = config["masterKeyOnly"]?[name] is JsonValue f && f.TryGetValue(out bool b) ? b : (bool?)null;
            return new ConfigValueView(value is JsonValue v && v.TryGetValue(out string? text) ? text : value.ToJsonString(), flag);
        });
        query.AddField(read);

        var input = new InputObjectGraphType { Name = "UpdateCloudConfigInput" };
        input.AddField(InputField("paramName", NonNull(Str), "The name of the parameter to set."));
        input.AddField(InputField("value", NonNull(Str), "The value to set (stored as a string)."));
        input.AddField(InputField("isMasterKeyOnly", Bool, "Whether only the master key may read it (default false)."));
        input.AddField(InputField("clientMutationId", Str));
        var payload = new ObjectGraphType { Name = "UpdateCloudConfigPayload" };
        payload.AddField(Field("cloudConfig", new NonNullGraphType(valueType), ctx => ((ConfigPayload)ctx.Source!).CloudConfig));
        payload.AddField(Field("clientMutationId", Str, ctx => ((ConfigPayload)ctx.Source!).ClientMutationId));
        var update = Field("updateCloudConfig", payload, null, "Sets one parameter of the global config (master key only).");
        update.Arguments = new QueryArguments(Argument("input", new NonNullGraphType(input)));
        update.Resolver = Async(async ctx =>
        {
            var rc = GraphQLRequestContext.Of(ctx);
            if (!rc.Auth.IsMaster) throw new ParseException(ParseError.OperationForbidden, "Master Key is required to update GlobalConfig.");
            var args = (IDictionary<string, object?>)Arg(ctx, "input")!;
            var name = (string)args["paramName"]!;
            var value = (string)args["value"]!;
            var masterOnly = args.TryGetValue("isMasterKeyOnly", out var m) && m is true;
            await rc.Config.WriteAsync(new JsonObject { [name] = value }, new JsonObject { [name] = masterOnly }, ctx.CancellationToken);
            return new ConfigPayload(new ConfigValueView(value, masterOnly), args.TryGetValue("clientMutationId", out var id) ? id as string : null);
        });
        mutation.AddField(update);
    }
}
