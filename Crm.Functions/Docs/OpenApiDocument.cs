using System.Text.Json.Nodes;
using Crm.Functions.Core.Schema;
using Crm.Functions.Crm;
using Crm.Functions.Http;
using Microsoft.AspNetCore.Http.Metadata;

namespace Crm.Functions.Docs;

/// <summary>
/// OpenAPI 3.1 for this server, generated on each request from the route table and the live schema: one operation
/// per method of every <see cref="ParseRouter"/> route (words from <see cref="RouteDocs"/>, security from the route),
/// object routes expanded per class with request and response schemas from field types and a create example the
/// server accepts as is (tests post every example back), then the app's other endpoints (GraphQL, real time, docs)
/// from their endpoint metadata. The document lists exactly the routes the server serves.
/// </summary>
internal static class OpenApiDocument
{
    private const string Ref = "#/components/schemas/";

    public static JsonObject Build(SchemaService schemas, string mountPath, IEnumerable<string> functions, IReadOnlyList<ParseRoute> routes,
        IEnumerable<Endpoint> endpoints)
    {
        var classes = SchemaDocument.DocumentedClasses(schemas);
        // Log-in first: the playground opens on it, and every other call needs its session token.
        var paths = new JsonObject { ["/login"] = new JsonObject() };
        var components = Components();
        var componentSchemas = components["schemas"]!.AsObject();
        var tags = new JsonArray();
        var tagNames = new HashSet<string>(StringComparer.Ordinal);
        void UseTag(string name, string? description)
        {
            if (tagNames.Add(name)) tags.Add(Tag(name, description ?? TagDescriptions.GetValueOrDefault(name, $"Objects of class {name}.")));
        }

        UseTag("Users", null); // first: the playground opens on it, where one logs in
        foreach (var schema in classes)
        {
            var name = schema.ClassName;
            UseTag(name, schema.Description);
            componentSchemas[name] = ObjectSchema(schema);
            componentSchemas[name + "Input"] = InputSchema(schema, update: false);
            componentSchemas[name + "Update"] = InputSchema(schema, update: true);
        }
        string Component(string name) => componentSchemas.ContainsKey(name) ? name : "ParseObject";

        foreach (var route in routes)
        {
            // POST first where a route takes both: the form clients (and the playground) use.
            foreach (var method in route.Methods.Select(m => m.ToLowerInvariant()).OrderBy(m => m != "post"))
            {
                if (RouteDocs.ObjectRouteClass(route) is { } className)
                {
                    if (className != "{className}")
                    {
                        AddObjectOperation(paths, route, method, route.Template, className, Component, classes.FirstOrDefault(c => c.ClassName == className));
                        UseTag(className, null);
                        continue;
                    }
                    AddObjectOperation(paths, route, method, route.Template, null, Component, null);
                    UseTag("Objects", null);
                    // Each application class at its own path, with its own schemas; users and other built-in classes
                    // are documented at their alias routes (/users, /roles, …).
                    foreach (var schema in classes.Where(c => !c.ClassName.StartsWith('_')))
                        AddObjectOperation(paths, route, method, route.Template.Replace("{className}", schema.ClassName, StringComparison.Ordinal),
                            schema.ClassName, Component, schema);
                }
                else if (RouteDocs.For(route, method) is { } doc)
                {
                    var example = doc.BodyExample?.DeepClone().AsObject() ?? (doc.Body is { } body && body.EndsWith("Input", StringComparison.Ordinal)
                        ? classes.FirstOrDefault(c => c.ClassName + "Input" == body) is { } target ? Example(target) : null
                        : null);
                    var operation = Operation(doc.Tag, doc.Id, doc.Summary, doc.Description, PathParameters(route.Template),
                        Response(doc.Status, doc.Summary, doc.Response is { } r ? SchemaRef(Component(r)) : new JsonObject { ["type"] = "object" }),
                        doc.Body is { } input && method != "get" ? Body(SchemaRef(Component(input)), example) : null,
                        doc.Caller == Caller.Anyone ? AppIdOnly() : null);
                    Add(paths, route.Template, method, Secure(operation, route));
                    UseTag(doc.Tag, null);
                }
                // A route without documentation is left out here; RouteDocs.Missing names it, and a test fails on it.
            }
        }

        // Each defined function at its own path (they are instances of POST /functions/{name}).
        foreach (var function in functions.Order(StringComparer.Ordinal))
        {
            var result = function == "pipelineSummary" ? SchemaRef("PipelineSummary") : new JsonObject();
            Add(paths, $"/functions/{function}", "post", Operation("Functions", $"function_{function}", $"Run the {function} function",
                function == "pipelineSummary" ? "Deal count and total amount per pipeline stage, over the deals the caller can see." : null, null,
                Response("200", "The function's result", new JsonObject
                {
                    ["type"] = "object", ["properties"] = new JsonObject { ["result"] = result },
                }),
                Body(new JsonObject { ["type"] = "object" }, new JsonObject())));
        }

        foreach (var endpoint in AppEndpoints(endpoints))
        {
            // Outside the Parse mount path: the path item names its own server (the app's root).
            if (paths[endpoint.Path] is JsonObject existing && !existing.ContainsKey("servers")) continue;
            foreach (var method in endpoint.Methods)
            {
                var operation = Operation(endpoint.Tag, endpoint.Id(method), endpoint.Summary, endpoint.Description, PathParameters(endpoint.Path),
                    Response("200", "Success", new JsonObject()));
                Add(paths, endpoint.Path, method, operation);
                UseTag(endpoint.Tag, null);
            }
            paths[endpoint.Path]!["servers"] = new JsonArray(new JsonObject { ["url"] = "/", ["description"] = "The app's root" });
        }

        return new JsonObject
        {
            ["openapi"] = "3.1.0",
            ["info"] = new JsonObject
            {
                ["title"] = "CRM REST API",
                ["version"] = ServerApi.Version,
                ["description"] = "The Parse REST protocol of this CRM server, generated from its route table and the live schema. Every request needs the "
                    + "application id; data requests also need a session token (log in with POST /login) or the master key.",
            },
            ["servers"] = new JsonArray(new JsonObject { ["url"] = mountPath, ["description"] = "This server" }),
            ["security"] = new JsonArray(
                new JsonObject { ["ApplicationId"] = new JsonArray(), ["SessionToken"] = new JsonArray() },
                new JsonObject { ["ApplicationId"] = new JsonArray(), ["MasterKey"] = new JsonArray() },
                new JsonObject { ["ApplicationId"] = new JsonArray() }),
            ["tags"] = tags,
            ["paths"] = paths,
            ["components"] = components,
        };
    }

    private static readonly Dictionary<string, string> TagDescriptions = new(StringComparer.Ordinal)
    {
        ["Users"] = "Sign-up, log-in and sessions. Log in here, then set the session token under Authentication.",
        ["Sessions"] = "The sessions of users.",
        ["Objects"] = "Objects of any class, by class name.",
        ["Schemas"] = "Classes, fields, permissions and indexes (master key).",
        ["Server"] = "Batches, health and server information.",
        ["Functions"] = "Server-side functions.",
        ["Files"] = "Parse files: upload, download (streamed, with ranges), metadata, delete.",
    };

    /// <summary>One method of an object route: find or create on a collection, get, update or delete on an object.</summary>
    private static void AddObjectOperation(JsonObject paths, ParseRoute route, string method, string path, string? className,
        Func<string, string> component, ClassSchema? schema)
    {
        var name = className is null ? "Object" : OperationName(className);
        var shown = className ?? "object";
        var tag = className ?? "Objects";
        var objectSchema = SchemaRef(component(className ?? "ParseObject"));
        var collection = !path.EndsWith("{objectId}", StringComparison.Ordinal);
        var operation = (collection, method) switch
        {
            (true, "get") => Operation(tag, $"find{name}", $"Find {shown} objects",
                "Only objects the caller may read are returned; `where` takes Parse's JSON query syntax.",
                PathParameters(path, QueryParameters()), Response("200", "The matching objects", new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject
                    {
                        ["results"] = new JsonObject { ["type"] = "array", ["items"] = objectSchema },
                        ["count"] = new JsonObject { ["type"] = "integer", ["description"] = "Present when count=1" },
                    },
                    ["required"] = new JsonArray("results"),
                })),
            (true, "post") => Operation(tag, $"create{name}", $"Create a {shown}", null, PathParameters(path),
                Response("201", "Created", SchemaRef("CreateResponse")),
                Body(SchemaRef(component((className ?? "ParseObject") + "Input")), schema is null ? null : Example(schema))),
            (false, "get") => Operation(tag, $"get{name}", $"Get a {shown}", null,
                PathParameters(path, [Param("include", "Pointer fields to replace by their objects, comma-separated"), Param("keys", "Fields to return, comma-separated")]),
                Response("200", "The object", objectSchema)),
            (false, "put") => Operation(tag, $"update{name}", $"Update a {shown}",
                "Only the fields sent change; a field may also be a Parse operation such as {\"__op\":\"Delete\"}.", PathParameters(path),
                Response("200", "Updated", SchemaRef("UpdateResponse")), Body(SchemaRef(component((className ?? "ParseObject") + "Update")), null)),
            _ => Operation(tag, $"delete{name}", $"Delete a {shown}", null, PathParameters(path), Response("200", "Deleted", new JsonObject { ["type"] = "object" })),
        };
        Add(paths, path, method, Secure(operation, route));
    }

    /// <summary>A master-key-only route says so, and asks for the master key alone.</summary>
    private static JsonObject Secure(JsonObject operation, ParseRoute route)
    {
        if (!route.MasterOnly) return operation;
        operation["description"] = ((operation["description"]?.GetValue<string>() ?? "") + " Master key only.").TrimStart();
        operation["security"] = new JsonArray(new JsonObject { ["ApplicationId"] = new JsonArray(), ["MasterKey"] = new JsonArray() });
        return operation;
    }

    private static void Add(JsonObject paths, string path, string method, JsonObject operation)
    {
        if (paths[path] is not JsonObject item) paths[path] = item = new JsonObject();
        item[method] = operation;
    }

    /// <summary>The path parameters of a template ({className}, {objectId}, …), all required strings, then any others.</summary>
    private static JsonArray PathParameters(string template, IEnumerable<JsonNode>? more = null) =>
    [
        .. System.Text.RegularExpressions.Regex.Matches(template, @"\{([^}/]+)\}").Select(m => (JsonNode)new JsonObject
        {
            ["name"] = m.Groups[1].Value, ["in"] = "path", ["required"] = true, ["schema"] = new JsonObject { ["type"] = "string" },
        }),
        .. more ?? [],
    ];

    /// <summary>An ASP.NET endpoint of the app outside the Parse route table, as the document shows it.</summary>
    private sealed record AppEndpoint(string Path, IReadOnlyList<string> Methods, string Tag, string Summary, string? Description)
    {
        public string Id(string method) => method + string.Concat(Path.Split('/', '{', '}', '.', '-').Where(p => p.Length > 0)
            .Select(p => char.ToUpperInvariant(p[0]) + p[1..]));
    }

    /// <summary>
    /// The app's endpoints with their summaries (endpoint metadata), in OpenAPI path syntax: an optional trailing
    /// parameter is left out and a catch-all becomes a plain parameter. SignalR hubs are reached through /negotiate.
    /// </summary>
    private static IEnumerable<AppEndpoint> AppEndpoints(IEnumerable<Endpoint> endpoints) =>
        from endpoint in endpoints.OfType<RouteEndpoint>()
        where endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.SignalR.HubMetadata>() is null
        let summary = endpoint.Metadata.GetMetadata<IEndpointSummaryMetadata>()?.Summary
        where summary is not null
        let path = OpenApiPath(endpoint.RoutePattern.RawText ?? "")
        orderby path
        select new AppEndpoint(path,
            [.. (endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => m.ToLowerInvariant())],
            endpoint.Metadata.GetMetadata<ITagsMetadata>()?.Tags is [var first, ..] ? first : "Server", summary,
            endpoint.Metadata.GetMetadata<IEndpointDescriptionMetadata>()?.Description);

    public static string OpenApiPath(string pattern)
    {
        var path = System.Text.RegularExpressions.Regex.Replace(pattern, @"/?\{[^}]*\?\}", "");
        path = System.Text.RegularExpressions.Regex.Replace(path, @"\{\*{1,2}([^}:]+)[^}]*\}|\{([^}:]+):[^}]*\}", m => "{" + m.Groups[1].Value + m.Groups[2].Value + "}");
        return "/" + path.Trim('/');
    }

    /// <summary>"METHOD pattern" of every app endpoint (hubs aside) without a summary: each needs one to be documented.</summary>
    public static IEnumerable<string> UndocumentedEndpoints(IEnumerable<Endpoint> endpoints) =>
        from endpoint in endpoints.OfType<RouteEndpoint>()
        where endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.SignalR.HubMetadata>() is null
              && endpoint.Metadata.GetMetadata<IEndpointSummaryMetadata>() is null
        select $"{string.Join(',', endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"])} {endpoint.RoutePattern.RawText}";

    /// <summary>operationIds must be unique and readable: "_User" becomes "User".</summary>
    private static string OperationName(string className) => className.TrimStart('_');

    private static JsonArray AppIdOnly() => new(new JsonObject { ["ApplicationId"] = new JsonArray() });

    // ---- building blocks ---------------------------------------------------------------------------------

    private static JsonObject Tag(string name, string description) => new() { ["name"] = name, ["description"] = description };

    private static JsonObject SchemaRef(string name) => new() { ["$ref"] = Ref + name };

    private static JsonObject Operation(string tag, string id, string summary, string? description, JsonArray? parameters,
        (string Status, JsonObject Response) ok, JsonObject? body = null, JsonArray? security = null)
    {
        var op = new JsonObject { ["tags"] = new JsonArray(tag), ["operationId"] = id, ["summary"] = summary };
        if (description is not null) op["description"] = description;
        if (parameters is not null) op["parameters"] = parameters;
        if (body is not null) op["requestBody"] = body;
        op["responses"] = new JsonObject
        {
            [ok.Status] = ok.Response,
            ["400"] = new JsonObject { ["$ref"] = "#/components/responses/Error" },
            ["404"] = new JsonObject { ["$ref"] = "#/components/responses/Error" },
        };
        if (security is not null) op["security"] = security;
        return op;
    }

    private static (string, JsonObject) Response(string status, string description, JsonObject schema) =>
        (status, new JsonObject
        {
            ["description"] = description,
            ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = schema } },
        });

    private static JsonObject Body(JsonObject schema, JsonObject? example)
    {
        var media = new JsonObject { ["schema"] = schema };
        if (example is not null) media["examples"] = new JsonObject { ["example"] = new JsonObject { ["summary"] = "Example", ["value"] = example } };
        return new JsonObject { ["required"] = true, ["content"] = new JsonObject { ["application/json"] = media } };
    }

    private static JsonObject Param(string name, string description, JsonObject? schema = null) => new()
    {
        ["name"] = name, ["in"] = "query", ["description"] = description, ["schema"] = schema ?? new JsonObject { ["type"] = "string" },
    };

    private static JsonNode[] QueryParameters() =>
    [
        Param("where", "Constraints as JSON, e.g. {\"stage\":\"lead\"}", new JsonObject { ["type"] = "string" }),
        Param("order", "Sort keys, comma-separated; prefix with - for descending"),
        Param("limit", "Maximum number of results (default 100)", new JsonObject { ["type"] = "integer", ["minimum"] = 0 }),
        Param("skip", "Results to skip", new JsonObject { ["type"] = "integer", ["minimum"] = 0 }),
        Param("keys", "Fields to return, comma-separated"),
        Param("include", "Pointer fields to replace by their objects, comma-separated"),
        Param("count", "1 to also return the total count", new JsonObject { ["type"] = "integer", ["enum"] = new JsonArray(0, 1) }),
    ];

    private static JsonObject ObjectSchema(ClassSchema schema)
    {
        var properties = new JsonObject
        {
            ["objectId"] = new JsonObject { ["type"] = "string" },
            ["createdAt"] = new JsonObject { ["type"] = "string", ["format"] = "date-time" },
            ["updatedAt"] = new JsonObject { ["type"] = "string", ["format"] = "date-time" },
            ["ACL"] = SchemaRef("ACL"),
        };
        foreach (var (name, field) in schema.Fields)
        {
            if (schema.ClassName == "_User" && name == "password") continue; // never returned
            properties[name] = FieldSchema(schema.ClassName, name, field, output: true);
        }
        var json = new JsonObject { ["type"] = "object", ["properties"] = properties, ["required"] = new JsonArray("objectId", "createdAt", "updatedAt") };
        if (schema.Description is not null) json["description"] = schema.Description;
        return json;
    }

    private static JsonObject InputSchema(ClassSchema schema, bool update)
    {
        var properties = new JsonObject { ["ACL"] = SchemaRef("ACL") };
        var required = new JsonArray();
        foreach (var (name, field) in schema.Fields)
        {
            var property = FieldSchema(schema.ClassName, name, field, output: false);
            properties[name] = update ? new JsonObject { ["anyOf"] = new JsonArray(property, SchemaRef("Operation")) } : property;
            if (!update && field.Required) required.Add(name);
        }
        if (!update && schema.ClassName == "_User")
            foreach (var name in new[] { "username", "password" }) if (!required.Any(r => r?.ToString() == name)) required.Add(name);
        var json = new JsonObject { ["type"] = "object", ["properties"] = properties };
        if (required.Count > 0) json["required"] = required;
        return json;
    }

    private static JsonObject FieldSchema(string className, string name, FieldDefinition field, bool output)
    {
        JsonObject json = field.Type switch
        {
            FieldType.String => new JsonObject { ["type"] = "string" },
            FieldType.Number => new JsonObject { ["type"] = "number" },
            FieldType.Boolean => new JsonObject { ["type"] = "boolean" },
            FieldType.Object => new JsonObject { ["type"] = "object" },
            FieldType.Array => new JsonObject { ["type"] = "array" },
            FieldType.Date => SchemaRef("Date"),
            FieldType.GeoPoint => SchemaRef("GeoPoint"),
            FieldType.File => SchemaRef("File"),
            FieldType.Bytes => SchemaRef("Bytes"),
            FieldType.Polygon => SchemaRef("Polygon"),
            FieldType.Pointer => Pointer(field.TargetClasses),
            FieldType.Relation => output
                ? new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject
                    {
                        ["__type"] = new JsonObject { ["const"] = "Relation" },
                        ["className"] = new JsonObject { ["const"] = field.TargetClass },
                    },
                }
                : SchemaRef("Operation"),
            _ => new JsonObject(),
        };
        if (field.Type == FieldType.String && CrmTemplate.EnumOf(className, name) is { } values)
            json["enum"] = new JsonArray([.. values.Select(v => (JsonNode)v)]);
        if (className == "_User" && name == "password") { json["format"] = "password"; json["writeOnly"] = true; }
        if (field.Description is not null) json["description"] = field.Description;
        return json;
    }

    private static JsonObject Pointer(IReadOnlyList<string> targets) => new()
    {
        ["type"] = "object",
        ["description"] = $"Pointer to {string.Join(" or ", targets)}",
        ["properties"] = new JsonObject
        {
            ["__type"] = new JsonObject { ["const"] = "Pointer" },
            ["className"] = new JsonObject { ["enum"] = new JsonArray([.. targets.Select(t => (JsonNode)t)]) },
            ["objectId"] = new JsonObject { ["type"] = "string" },
        },
        ["required"] = new JsonArray("__type", "className", "objectId"),
    };

    /// <summary>A create body the server accepts: every scalar field with a plausible value; pointers are left out (they need existing objects).</summary>
    public static JsonObject Example(ClassSchema schema)
    {
        var example = new JsonObject();
        foreach (var (name, field) in schema.Fields)
        {
            JsonNode? value = field.Type switch
            {
                FieldType.String when CrmTemplate.EnumOf(schema.ClassName, name) is { } values => values[0],
                FieldType.String => name switch
                {
                    "email" => "ada.lovelace@example.com",
                    "phone" => "+44 20 7946 0958",
                    "website" => "https://example.com",
                    "username" => "ada",
                    "password" => "correct horse battery",
                    "name" => schema.ClassName == "Contact" ? "Ada Lovelace" : "Analytical Engines Ltd",
                    "title" => "Difference engine upgrade",
                    _ => $"Example {name}",
                },
                FieldType.Number => 25000,
                FieldType.Boolean => true,
                FieldType.Date => new JsonObject { ["__type"] = "Date", ["iso"] = "2026-06-30T09:00:00.000Z" },
                FieldType.Array => new JsonArray("example"),
                FieldType.Object => new JsonObject { ["key"] = "value" },
                FieldType.GeoPoint => new JsonObject { ["__type"] = "GeoPoint", ["latitude"] = 51.5072, ["longitude"] = -0.1276 },
                _ => null,
            };
            if (value is null) continue;
            if (schema.ClassName == "_User" && name is "emailVerified" or "authData") continue;
            example[name] = value;
        }
        return example;
    }

    private static JsonObject Components()
    {
        static JsonObject Key(string header, string description) => new()
        {
            ["type"] = "apiKey", ["in"] = "header", ["name"] = header, ["description"] = description,
        };
        static JsonObject Typed(string type, JsonObject properties, params string[] required)
        {
            properties["__type"] = new JsonObject { ["const"] = type };
            return new JsonObject
            {
                ["type"] = "object", ["properties"] = properties, ["required"] = new JsonArray([.. required.Prepend("__type").Select(r => (JsonNode)r)]),
            };
        }
        return new JsonObject
        {
            ["securitySchemes"] = new JsonObject
            {
                ["ApplicationId"] = Key("X-Parse-Application-Id", "The application id (Parse:AppId)."),
                ["SessionToken"] = Key("X-Parse-Session-Token", "The sessionToken answered by POST /login or sign-up."),
                ["MasterKey"] = Key("X-Parse-Master-Key", "The master key: bypasses permissions; accepted from allowed addresses only."),
            },
            ["responses"] = new JsonObject
            {
                ["Error"] = new JsonObject
                {
                    ["description"] = "A Parse error",
                    ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = SchemaRef("Error") } },
                },
            },
            ["schemas"] = new JsonObject
            {
                ["Error"] = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject
                    {
                        ["code"] = new JsonObject { ["type"] = "integer", ["description"] = "Parse error code, e.g. 101 not found, 142 validation failed" },
                        ["error"] = new JsonObject { ["type"] = "string" },
                    },
                    ["required"] = new JsonArray("code", "error"),
                },
                ["Date"] = Typed("Date", new JsonObject { ["iso"] = new JsonObject { ["type"] = "string", ["format"] = "date-time" } }, "iso"),
                ["GeoPoint"] = Typed("GeoPoint", new JsonObject
                {
                    ["latitude"] = new JsonObject { ["type"] = "number", ["minimum"] = -90, ["maximum"] = 90 },
                    ["longitude"] = new JsonObject { ["type"] = "number", ["minimum"] = -180, ["maximum"] = 180 },
                }, "latitude", "longitude"),
                ["File"] = Typed("File", new JsonObject
                {
                    ["name"] = new JsonObject { ["type"] = "string" }, ["url"] = new JsonObject { ["type"] = "string" },
                }, "name"),
                ["Bytes"] = Typed("Bytes", new JsonObject { ["base64"] = new JsonObject { ["type"] = "string" } }, "base64"),
                ["Polygon"] = Typed("Polygon", new JsonObject { ["coordinates"] = new JsonObject { ["type"] = "array" } }, "coordinates"),
                ["ACL"] = new JsonObject
                {
                    ["type"] = "object",
                    ["description"] = "Keys are \"*\", a user id or \"role:Name\"; values grant read and/or write.",
                    ["additionalProperties"] = new JsonObject
                    {
                        ["type"] = "object",
                        ["properties"] = new JsonObject { ["read"] = new JsonObject { ["type"] = "boolean" }, ["write"] = new JsonObject { ["type"] = "boolean" } },
                    },
                },
                ["Operation"] = new JsonObject
                {
                    ["type"] = "object",
                    ["description"] = "A Parse field operation: Delete, Increment, Add, AddUnique, Remove, AddRelation, RemoveRelation.",
                    ["properties"] = new JsonObject { ["__op"] = new JsonObject { ["type"] = "string" } },
                    ["required"] = new JsonArray("__op"),
                },
                ["CreateResponse"] = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject
                    {
                        ["objectId"] = new JsonObject { ["type"] = "string" },
                        ["createdAt"] = new JsonObject { ["type"] = "string", ["format"] = "date-time" },
                    },
                    ["required"] = new JsonArray("objectId", "createdAt"),
                },
                ["SignUpResponse"] = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject
                    {
                        ["objectId"] = new JsonObject { ["type"] = "string" },
                        ["sessionToken"] = new JsonObject { ["type"] = "string" },
                    },
                    ["required"] = new JsonArray("objectId", "sessionToken"),
                },
                ["UpdateResponse"] = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject { ["updatedAt"] = new JsonObject { ["type"] = "string", ["format"] = "date-time" } },
                    ["required"] = new JsonArray("updatedAt"),
                },
                ["ParseObject"] = new JsonObject
                {
                    ["type"] = "object",
                    ["description"] = "An object of any class: its fields, plus objectId, createdAt, updatedAt and ACL.",
                    ["properties"] = new JsonObject
                    {
                        ["objectId"] = new JsonObject { ["type"] = "string" },
                        ["createdAt"] = new JsonObject { ["type"] = "string", ["format"] = "date-time" },
                        ["updatedAt"] = new JsonObject { ["type"] = "string", ["format"] = "date-time" },
                        ["ACL"] = SchemaRef("ACL"),
                    },
                },
                ["ParseObjectInput"] = new JsonObject { ["type"] = "object", ["description"] = "Field values, each a value of the field's type.", ["properties"] = new JsonObject { ["ACL"] = SchemaRef("ACL") } },
                ["ParseObjectUpdate"] = new JsonObject { ["type"] = "object", ["description"] = "Field values or Parse operations such as {\"__op\":\"Increment\"}.", ["properties"] = new JsonObject { ["ACL"] = SchemaRef("ACL") } },
                ["LogIn"] = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject
                    {
                        ["username"] = new JsonObject { ["type"] = "string" },
                        ["password"] = new JsonObject { ["type"] = "string", ["format"] = "password" },
                        ["authData"] = new JsonObject
                        {
                            ["type"] = "object",
                            ["description"] = "Two-factor sign-in (docs/two-factor.md): {\"mfa\": {\"token\": \"123456\"}} with a current code or a recovery code; {\"mfa\": {\"secret\", \"token\"}} enrols while logging in.",
                        },
                    },
                    ["required"] = new JsonArray("username", "password"),
                },
                ["BatchRequest"] = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject
                    {
                        ["requests"] = new JsonObject
                        {
                            ["type"] = "array",
                            ["items"] = new JsonObject
                            {
                                ["type"] = "object",
                                ["properties"] = new JsonObject
                                {
                                    ["method"] = new JsonObject { ["type"] = "string" },
                                    ["path"] = new JsonObject { ["type"] = "string" },
                                    ["body"] = new JsonObject { ["type"] = "object" },
                                },
                                ["required"] = new JsonArray("method", "path"),
                            },
                        },
                        ["transaction"] = new JsonObject { ["type"] = "boolean" },
                    },
                    ["required"] = new JsonArray("requests"),
                },
                ["SchemaInput"] = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject
                    {
                        ["className"] = new JsonObject { ["type"] = "string" },
                        ["fields"] = new JsonObject { ["type"] = "object" },
                        ["classLevelPermissions"] = new JsonObject { ["type"] = "object" },
                        ["indexes"] = new JsonObject { ["type"] = "object" },
                    },
                },
                ["Health"] = new JsonObject
                {
                    ["type"] = "object", ["properties"] = new JsonObject { ["status"] = new JsonObject { ["type"] = "string" } },
                },
                ["PipelineSummary"] = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject
                    {
                        ["stages"] = new JsonObject
                        {
                            ["type"] = "array",
                            ["items"] = new JsonObject
                            {
                                ["type"] = "object",
                                ["properties"] = new JsonObject
                                {
                                    ["stage"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray([.. CrmTemplate.PipelineStages.Select(s => (JsonNode)s)]) },
                                    ["count"] = new JsonObject { ["type"] = "integer" },
                                    ["amount"] = new JsonObject { ["type"] = "number" },
                                },
                            },
                        },
                        ["total"] = new JsonObject
                        {
                            ["type"] = "object",
                            ["properties"] = new JsonObject { ["count"] = new JsonObject { ["type"] = "integer" }, ["amount"] = new JsonObject { ["type"] = "number" } },
                        },
                    },
                },
            },
        };
    }
}
