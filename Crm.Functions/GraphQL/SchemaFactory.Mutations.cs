using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Requests;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Store;
using Crm.Functions.Core.Users;
using GraphQL;
using GraphQL.Types;

using GqlField = GraphQL.Types.FieldType;
using ParseType = Crm.Functions.Core.Schema.FieldType;

namespace Crm.Functions.GraphQL;

internal sealed record PayloadView(ParseObj Object, string? ClientMutationId);
internal sealed record ViewerPayload(ViewerView Viewer, string? ClientMutationId);
internal sealed record OkPayload(bool Ok, string? ClientMutationId);

/// <summary>Relay mutations: create/update/delete per class, and signUp/logIn/logOut — each one core call with the caller's auth.</summary>
internal sealed partial class SchemaFactory
{
    private void AddClassMutations(ObjectGraphType mutation, ClassTypes types)
    {
        var payloadField = types.GetName;
        ObjectGraphType Payload(string verb)
        {
            var payload = new ObjectGraphType { Name = verb + types.TypeName + "Payload" };
            payload.AddField(Field(payloadField, new NonNullGraphType(types.Object), ctx => ((PayloadView)ctx.Source!).Object));
            payload.AddField(Field("clientMutationId", Str, ctx => ((PayloadView)ctx.Source!).ClientMutationId));
            return payload;
        }
        InputObjectGraphType Input(string verb, InputObjectGraphType? fields, bool withId)
        {
            var input = new InputObjectGraphType { Name = verb + types.TypeName + "Input" };
            if (withId) input.AddField(InputField("id", NonNull(Id), "Global id or objectId."));
            if (fields is not null) input.AddField(InputField("fields", fields));
            input.AddField(InputField("clientMutationId", Str));
            return input;
        }
        GqlField Mutation(string verb, InputObjectGraphType input, Func<IResolveFieldContext, GraphQLRequestContext, IDictionary<string, object?>, Task<ParseObj>> run)
        {
            var field = Field(Naming.LowerFirst(verb) + types.TypeName, Payload(verb), null);
            field.Arguments = new QueryArguments(Argument("input", new NonNullGraphType(input)));
            field.Resolver = Async(async ctx =>
            {
                var rc = GraphQLRequestContext.Of(ctx);
                var args = (IDictionary<string, object?>)Arg(ctx, "input")!;
                var obj = await run(ctx, rc, args);
                return new PayloadView(obj, args.TryGetValue("clientMutationId", out var id) ? id as string : null);
            });
            return field;
        }

        mutation.AddField(Mutation("Create", Input("Create", types.CreateFields, false), async (ctx, rc, args) =>
        {
            var body = await WriteBodyAsync(types, Fields(args), rc, ctx.CancellationToken);
            var written = await rc.Data.CreateAsync(rc.Auth, types.ClassName, body, ctx.CancellationToken);
            return await ReloadAsync(rc, types, body, written, ctx.CancellationToken);
        }));
        mutation.AddField(Mutation("Update", Input("Update", types.UpdateFields, true), async (ctx, rc, args) =>
        {
            var objectId = GlobalIds.ObjectIdFor(GlobalIds.Text(args["id"]), types.ClassName);
            var body = await WriteBodyAsync(types, Fields(args), rc, ctx.CancellationToken);
            var written = await rc.Data.UpdateAsync(rc.Auth, types.ClassName, objectId, body, ctx.CancellationToken);
            return await ReloadAsync(rc, types, body, written, ctx.CancellationToken);
        }));
        mutation.AddField(Mutation("Delete", Input("Delete", null, true), async (ctx, rc, args) =>
        {
            var objectId = GlobalIds.ObjectIdFor(GlobalIds.Text(args["id"]), types.ClassName);
            // The payload is the object as it was; reading it first also means an unreadable object is a plain 101.
            var before = await rc.Data.GetAsync(rc.Auth, types.ClassName, objectId, null, ctx.CancellationToken);
            await rc.Data.DeleteAsync(rc.Auth, types.ClassName, objectId, ctx.CancellationToken);
            return new ParseObj(types.ClassName, before);
        }));
    }

    private void AddUserMutations(ObjectGraphType mutation)
    {
        if (!_classes.TryGetValue("_User", out var user)) return;
        ObjectGraphType ViewerPayloadType(string name)
        {
            var payload = new ObjectGraphType { Name = name };
            payload.AddField(Field("viewer", new NonNullGraphType(_viewer), ctx => ((ViewerPayload)ctx.Source!).Viewer));
            payload.AddField(Field("clientMutationId", Str, ctx => ((ViewerPayload)ctx.Source!).ClientMutationId));
            return payload;
        }
        static string? ClientId(IDictionary<string, object?> args) => args.TryGetValue("clientMutationId", out var id) ? id as string : null;

        var signUpInput = new InputObjectGraphType { Name = "SignUpInput" };
        signUpInput.AddField(InputField("fields", user.CreateFields));
        signUpInput.AddField(InputField("clientMutationId", Str));
        var signUp = Field("signUp", ViewerPayloadType("SignUpPayload"), null, "Creates a user (REST POST /users) and returns its new session.");
        signUp.Arguments = new QueryArguments(Argument("input", new NonNullGraphType(signUpInput)));
        signUp.Resolver = Async(async ctx =>
        {
            var rc = GraphQLRequestContext.Of(ctx);
            var args = (IDictionary<string, object?>)Arg(ctx, "input")!;
            var body = await WriteBodyAsync(user, Fields(args), rc, ctx.CancellationToken);
            var written = await rc.Data.CreateAsync(rc.Auth, "_User", body, ctx.CancellationToken);
            var token = JsonValues.Text(written.Response["sessionToken"]);
            var me = await rc.Users.MeAsync(written.Object.ObjectId, token, ctx.CancellationToken);
            return new ViewerPayload(new ViewerView(token, new ParseObj("_User", me)), ClientId(args));
        });
        mutation.AddField(signUp);

        var logInInput = new InputObjectGraphType { Name = "LogInInput" };
        logInInput.AddField(InputField("username", NonNull(Str)));
        logInInput.AddField(InputField("password", NonNull(Str)));
        logInInput.AddField(InputField("authData", _object, "Additional auth data, as parse-server names it: {mfa: {token}} for two-factor sign-in."));
        logInInput.AddField(InputField("clientMutationId", Str));
        var logIn = Field("logIn", ViewerPayloadType("LogInPayload"), null, "Logs in with username (or email) and password (REST POST /login).");
        logIn.Arguments = new QueryArguments(Argument("input", new NonNullGraphType(logInInput)));
        logIn.Resolver = Async(async ctx =>
        {
            var rc = GraphQLRequestContext.Of(ctx);
            rc.CheckRateLimit();
            var args = (IDictionary<string, object?>)Arg(ctx, "input")!;
            var authData = args.TryGetValue("authData", out var a) && a is not null ? JsonValues.FromClr(a) as JsonObject ?? throw TwoFactor.InvalidData() : null;
            var json = await rc.Users.LogInAsync((string?)args["username"], null, (string?)args["password"], rc.Auth.InstallationId, true, ctx.CancellationToken, authData);
            return new ViewerPayload(new ViewerView(JsonValues.Text(json["sessionToken"]), new ParseObj("_User", json)), ClientId(args));
        });
        mutation.AddField(logIn);

        var logOutInput = new InputObjectGraphType { Name = "LogOutInput" };
        logOutInput.AddField(InputField("clientMutationId", Str));
        var logOutPayload = new ObjectGraphType { Name = "LogOutPayload" };
        logOutPayload.AddField(Field("ok", NonNull(Bool), ctx => ((OkPayload)ctx.Source!).Ok));
        logOutPayload.AddField(Field("clientMutationId", Str, ctx => ((OkPayload)ctx.Source!).ClientMutationId));
        var logOut = Field("logOut", logOutPayload, null, "Revokes the request's session token (REST POST /logout).");
        logOut.Arguments = new QueryArguments(Argument("input", logOutInput));
        logOut.Resolver = Async(async ctx =>
        {
            var rc = GraphQLRequestContext.Of(ctx);
            var token = rc.Auth.SessionToken ?? throw new ParseException(ParseError.InvalidSessionToken, "Invalid session token");
            await rc.Sessions.RevokeAsync(token, ctx.CancellationToken);
            var args = Arg(ctx, "input") as IDictionary<string, object?>;
            return new OkPayload(true, args is null ? null : ClientId(args));
        });
        mutation.AddField(logOut);

        // Parse's names and shapes: {email} in, {ok} out; the same core calls, limits and answers as REST.
        AddMailMutation(mutation, "resetPassword", "ResetPassword", "Mails a password reset link (REST POST /requestPasswordReset); ok whether or not an account has the address.",
            (accounts, auth, email, ct) => accounts.RequestPasswordResetAsync(auth, email, ct));
        AddMailMutation(mutation, "sendVerificationEmail", "SendVerificationEmail", "Mails an email verification link again (REST POST /verificationEmailRequest).",
            (accounts, auth, email, ct) => accounts.RequestVerificationEmailAsync(auth, email, ct));

        // parse-server's {username, password, token} → {ok}: the reset link's token sets a new password, once.
        var confirmInput = new InputObjectGraphType { Name = "ConfirmResetPasswordInput" };
        confirmInput.AddField(InputField("username", NonNull(Str), "Username of the user that received the reset email."));
        confirmInput.AddField(InputField("password", NonNull(Str), "The new password."));
        confirmInput.AddField(InputField("token", NonNull(Str), "The reset token from the emailed link."));
        confirmInput.AddField(InputField("clientMutationId", Str));
        var confirmPayload = new ObjectGraphType { Name = "ConfirmResetPasswordPayload" };
        confirmPayload.AddField(Field("ok", NonNull(Bool), ctx => ((OkPayload)ctx.Source!).Ok));
        confirmPayload.AddField(Field("clientMutationId", Str, ctx => ((OkPayload)ctx.Source!).ClientMutationId));
        var confirm = Field("confirmResetPassword", confirmPayload, null,
            "Sets a new password with the token of a reset link (the page /apps/{appId}/choose_password does the same); the token works once.");
        confirm.Arguments = new QueryArguments(Argument("input", new NonNullGraphType(confirmInput)));
        confirm.Resolver = Async(async ctx =>
        {
            var rc = GraphQLRequestContext.Of(ctx);
            rc.CheckRateLimit();
            var args = (IDictionary<string, object?>)Arg(ctx, "input")!;
            var accounts = ctx.RequestServices!.GetRequiredService<AccountEmails>();
            var token = args["token"] as string;
            // The username must be the token's user: a mistyped one fails like a bad token, saying nothing more.
            var user = await accounts.PasswordResetUserAsync(token, ctx.CancellationToken);
            if (user is null || user.Data["username"]?.ToString() != args["username"] as string)
                throw new ParseException(ParseError.OtherCause, "This link is invalid or has expired. Please request a new one.");
            await accounts.ResetPasswordAsync(token, args["password"] as string, ctx.CancellationToken);
            return new OkPayload(true, ClientId(args));
        });
        mutation.AddField(confirm);
    }

    private static void AddMailMutation(ObjectGraphType mutation, string name, string typePrefix, string description,
        Func<AccountEmails, Auth, JsonNode?, CancellationToken, Task> send)
    {
        var input = new InputObjectGraphType { Name = typePrefix + "Input" };
        input.AddField(InputField("email", NonNull(Str)));
        input.AddField(InputField("clientMutationId", Str));
        var payload = new ObjectGraphType { Name = typePrefix + "Payload" };
        payload.AddField(Field("ok", NonNull(Bool), ctx => ((OkPayload)ctx.Source!).Ok));
        payload.AddField(Field("clientMutationId", Str, ctx => ((OkPayload)ctx.Source!).ClientMutationId));
        var field = Field(name, payload, null, description);
        field.Arguments = new QueryArguments(Argument("input", new NonNullGraphType(input)));
        field.Resolver = Async(async ctx =>
        {
            var rc = GraphQLRequestContext.Of(ctx);
            var args = (IDictionary<string, object?>)Arg(ctx, "input")!;
            var accounts = ctx.RequestServices!.GetRequiredService<AccountEmails>();
            await send(accounts, rc.Auth, args["email"] is string email ? JsonValue.Create(email) : null, ctx.CancellationToken);
            return new OkPayload(true, args.TryGetValue("clientMutationId", out var id) ? id as string : null);
        });
        mutation.AddField(field);
    }

    private static IDictionary<string, object?> Fields(IDictionary<string, object?> args) =>
        args.TryGetValue("fields", out var f) && f is IDictionary<string, object?> fields ? fields : new Dictionary<string, object?>();

    /// <summary>
    /// The object after a write, read back through the core so selected fields are complete. A caller who may write
    /// the object but not read it (ACL write without read) gets the write answer instead, as REST gives it (objectId,
    /// the dates, the core's answer) plus the plain values it sent itself: the stored object is exactly what its ACL
    /// hides. Fields it did not send resolve to null, rather than failing a write that has already happened.
    /// </summary>
    private static async Task<ParseObj> ReloadAsync(GraphQLRequestContext rc, ClassTypes types, JsonObject body, WriteResult written, CancellationToken ct)
    {
        try
        {
            return new ParseObj(types.ClassName, await rc.Data.GetAsync(rc.Auth, types.ClassName, written.Object.ObjectId, null, ct));
        }
        catch (ParseException e) when (e.Code == ParseError.ObjectNotFound)
        {
            var sent = new JsonObject();
            foreach (var (key, value) in body)
                if (key != "ACL" && !(value is JsonObject o && o.ContainsKey("__op"))) sent[key] = value?.DeepClone();
            var schema = rc.Data.Schemas.Get(types.ClassName) ?? types.Schema;
            // Encoded like any answer, so what never leaves the server (a password, protected fields) stays in.
            var answer = rc.Data.Encode(rc.Auth, schema, new StoredObject
            {
                ClassName = types.ClassName, ObjectId = written.Object.ObjectId, OwnerId = written.Object.OwnerId,
                CreatedAt = written.Object.CreatedAt, UpdatedAt = written.Object.UpdatedAt, Acl = body["ACL"] as JsonObject, Data = sent,
            }, AccessPolicy.ProtectedFields(rc.Auth, schema));
            foreach (var (key, value) in written.Response) answer[key] = value?.DeepClone();
            return new ParseObj(types.ClassName, answer);
        }
    }

    /// <summary>GraphQL field inputs → a Parse REST write body (pointers, relations, ACL, geo and file values in Parse's JSON; null unsets).</summary>
    private async Task<JsonObject> WriteBodyAsync(ClassTypes types, IDictionary<string, object?> fields, GraphQLRequestContext rc, CancellationToken ct)
    {
        var body = new JsonObject();
        foreach (var (key, value) in fields)
        {
            if (key == "ACL")
            {
                if (value is IDictionary<string, object?> acl) body["ACL"] = AclJson(acl);
                continue;
            }
            var def = types.Field(key) ?? throw new ParseException(ParseError.InvalidKeyName, $"Unknown field {key}.");
            if (value is null)
            {
                body[key] = new JsonObject { ["__op"] = "Delete" };
                continue;
            }
            body[key] = def.Type switch
            {
                ParseType.Pointer => await PointerJsonAsync(key, def, (IDictionary<string, object?>)value, rc, ct),
                ParseType.Relation => await RelationOpAsync(key, def, (IDictionary<string, object?>)value, rc, ct),
                ParseType.GeoPoint => GeoPointJson((IDictionary<string, object?>)value),
                ParseType.Polygon => new JsonObject
                {
                    ["__type"] = "Polygon",
                    ["coordinates"] = new JsonArray(((IEnumerable<object?>)value).OfType<IDictionary<string, object?>>()
                        .Select(p => (JsonNode?)new JsonArray(JsonValues.FromClr(p["latitude"]), JsonValues.FromClr(p["longitude"]))).ToArray()),
                },
                ParseType.File => FileJson(key, (IDictionary<string, object?>)value),
                _ => JsonValues.FromClr(value),
            };
        }
        return body;
    }

    private static JsonObject GeoPointJson(IDictionary<string, object?> point) => new()
    {
        ["__type"] = "GeoPoint", ["latitude"] = JsonValues.FromClr(point["latitude"]), ["longitude"] = JsonValues.FromClr(point["longitude"]),
    };

    private static JsonNode FileJson(string key, IDictionary<string, object?> input)
    {
        var file = JsonValues.FromClr(input.TryGetValue("file", out var f) ? f : null);
        return file switch
        {
            JsonValue v when JsonValues.Text(v) is { Length: > 0 } name => new JsonObject { ["__type"] = "File", ["name"] = name },
            JsonObject o when JsonValues.Text(o["__type"]) == "File" => o,
            _ => throw new ParseException(ParseError.IncorrectType, $"Field {key} needs {{file: <name or File JSON>}}; uploads go through the REST files endpoint."),
        };
    }

    private async Task<JsonObject> PointerJsonAsync(string key, FieldDefinition def, IDictionary<string, object?> input, GraphQLRequestContext rc, CancellationToken ct)
    {
        var targets = Targets(def);
        var link = input.TryGetValue("link", out var l) && l is not null ? GlobalIds.Text(l) : null;
        var create = input.TryGetValue("createAndLink", out var c) ? c as IDictionary<string, object?> : null;
        if ((link is null) == (create is null))
            throw new ParseException(ParseError.InvalidPointer, $"You need to provide link OR createLink on the pointer mutation of field {key}");
        if (create is not null)
        {
            var target = targets[0];
            RequestBudget.Current?.ChargeNestedCreate();
            var created = await rc.Data.CreateAsync(rc.Auth, target.ClassName, await WriteBodyAsync(target, create, rc, ct), ct);
            return Pointer(target.ClassName, created.Object.ObjectId);
        }
        if (targets.Count == 1) return Pointer(targets[0].ClassName, GlobalIds.ObjectIdFor(link!, targets[0].ClassName));
        if (GlobalIds.TryDecode(link!, out var cls, out var objectId) && targets.Any(t => t.ClassName == cls)) return Pointer(cls, objectId);
        if (Core.Json.ObjectIds.IsValid(link))
        {
            // A raw objectId names whichever target class holds it, when exactly one does among those the caller can read.
            var holders = new List<string>();
            foreach (var target in targets)
            {
                try
                {
                    var found = await rc.Data.FindAsync(rc.Auth, target.ClassName, new FindRequest { Where = new JsonObject { ["objectId"] = link }, Limit = 1 }, ct);
                    if (found.Results.Count > 0) holders.Add(target.ClassName);
                }
                catch (ParseException e) when (e.Code == ParseError.OperationForbidden) { } // a class the caller may not search holds nothing it can link
            }
            if (holders.Count == 1) return Pointer(holders[0], link!);
            throw new ParseException(ParseError.InvalidPointer, holders.Count == 0
                ? $"Field {key}: no {string.Join(" or ", targets.Select(t => t.TypeName))} has objectId {link}."
                : $"Field {key}: objectId {link} exists in {string.Join(" and ", holders)}; link with the global id of one of them.");
        }
        throw new ParseException(ParseError.InvalidPointer,
            $"Field {key} points to one of {string.Join(", ", targets.Select(t => t.TypeName))}: link needs the global id or the objectId of one of them.");
    }

    private async Task<JsonObject> RelationOpAsync(string key, FieldDefinition def, IDictionary<string, object?> input, GraphQLRequestContext rc, CancellationToken ct)
    {
        var target = Targets(def)[0];
        JsonArray Pointers(object? ids) => new((ids as IEnumerable<object?> ?? []).Where(id => id is not null).Select(GlobalIds.Text)
            .Select(id => (JsonNode?)Pointer(target.ClassName, GlobalIds.ObjectIdFor(id, target.ClassName))).ToArray());
        var add = Pointers(input.TryGetValue("add", out var a) ? a : null);
        var remove = Pointers(input.TryGetValue("remove", out var r) ? r : null);
        if (input.TryGetValue("createAndAdd", out var c) && c is IEnumerable<object?> creates)
            foreach (var fields in creates.OfType<IDictionary<string, object?>>())
            {
                RequestBudget.Current?.ChargeNestedCreate();
                var created = await rc.Data.CreateAsync(rc.Auth, target.ClassName, await WriteBodyAsync(target, fields, rc, ct), ct);
                add.Add(Pointer(target.ClassName, created.Object.ObjectId));
            }
        var ops = new List<JsonObject>();
        if (add.Count > 0) ops.Add(new JsonObject { ["__op"] = "AddRelation", ["objects"] = add });
        if (remove.Count > 0) ops.Add(new JsonObject { ["__op"] = "RemoveRelation", ["objects"] = remove });
        return ops.Count switch
        {
            0 => throw new ParseException(ParseError.InvalidPointer, $"You need to provide add, remove or createAndAdd on the relation mutation of field {key}"),
            1 => ops[0],
            _ => new JsonObject { ["__op"] = "Batch", ["ops"] = new JsonArray(ops.ToArray<JsonNode?>()) },
        };
    }

    /// <summary>ACLInput → Parse ACL JSON; only granted permissions are written, as Parse stores them.</summary>
    private static JsonObject AclJson(IDictionary<string, object?> input)
    {
        var acl = new JsonObject();
        void Put(string key, IDictionary<string, object?> rule)
        {
            var entry = new JsonObject();
            if (rule.TryGetValue("read", out var r) && r is true) entry["read"] = true;
            if (rule.TryGetValue("write", out var w) && w is true) entry["write"] = true;
            if (entry.Count > 0) acl[key] = entry;
        }
        if (input.TryGetValue("users", out var users) && users is IEnumerable<object?> u)
            foreach (var rule in u.OfType<IDictionary<string, object?>>()) Put(GlobalIds.ObjectIdFor(GlobalIds.Text(rule["userId"]), "_User"), rule);
        if (input.TryGetValue("roles", out var roles) && roles is IEnumerable<object?> ro)
            foreach (var rule in ro.OfType<IDictionary<string, object?>>()) Put("role:" + (string)rule["roleName"]!, rule);
        if (input.TryGetValue("public", out var pub) && pub is IDictionary<string, object?> p) Put("*", p);
        return acl;
    }
}
