using System.Text.Json.Nodes;
using Crm.Functions.Core.Schema;
using Crm.Functions.Crm;
using Crm.Functions.Http;

namespace Crm.Functions.Docs;

/// <summary>
/// OpenAPI 3.1 for the Parse REST API of this server, built from the live schema on each request: one tag
/// per class with find/create/get/update/delete, request and response schemas from field types, and a
/// create example per class that the server accepts as is (tests post every example back).
/// </summary>
internal static class OpenApiDocument
{
    private const string Ref = "#/components/schemas/";

    public static JsonObject Build(SchemaService schemas, string mountPath, IEnumerable<string> functions)
    {
        var classes = SchemaDocument.DocumentedClasses(schemas);
        var paths = new JsonObject();
        var components = Components();
        var componentSchemas = components["schemas"]!.AsObject();
        var tags = new JsonArray { Tag("Users", "Sign-up, log-in and sessions. Log in here, then set the session token under Authentication.") };

        foreach (var schema in classes)
        {
            var name = schema.ClassName;
            var id = OperationName(name);
            tags.Add(Tag(name, schema.Description ?? $"Objects of class {name}."));
            componentSchemas[name] = ObjectSchema(schema);
            componentSchemas[name + "Input"] = InputSchema(schema, update: false);
            componentSchemas[name + "Update"] = InputSchema(schema, update: true);
            var collection = name == "_User" ? "/users" : $"/classes/{name}";
            var example = Example(schema);
            paths[collection] = new JsonObject
            {
                ["get"] = Operation(name, $"find{id}", $"Find {name} objects", "Only objects the caller may read are returned; `where` takes Parse's JSON query syntax.",
                    QueryParameters(), Response("200", "The matching objects", new JsonObject
                    {
                        ["type"] = "object",
                        ["properties"] = new JsonObject
                        {
                            ["results"] = new JsonObject { ["type"] = "array", ["items"] = SchemaRef(name) },
                            ["count"] = new JsonObject { ["type"] = "integer", ["description"] = "Present when count=1" },
                        },
                        ["required"] = new JsonArray("results"),
                    })),
                ["post"] = Operation(name, $"create{id}", name == "_User" ? "Sign up" : $"Create a {name}", null, null,
                    Response("201", "Created", SchemaRef(name == "_User" ? "SignUpResponse" : "CreateResponse")),
                    Body(SchemaRef(name + "Input"), example)),
            };
            paths[collection + "/{objectId}"] = new JsonObject
            {
                ["parameters"] = new JsonArray(new JsonObject
                {
                    ["name"] = "objectId", ["in"] = "path", ["required"] = true, ["schema"] = new JsonObject { ["type"] = "string" },
                }),
                ["get"] = Operation(name, $"get{id}", $"Get a {name}", null,
                    new JsonArray(Param("include", "Pointer fields to replace by their objects, comma-separated"), Param("keys", "Fields to return, comma-separated")),
                    Response("200", "The object", SchemaRef(name))),
                ["put"] = Operation(name, $"update{id}", $"Update a {name}", "Only the fields sent change; a field may also be a Parse operation such as {\"__op\":\"Delete\"}.", null,
                    Response("200", "Updated", SchemaRef("UpdateResponse")), Body(SchemaRef(name + "Update"), null)),
                ["delete"] = Operation(name, $"delete{id}", $"Delete a {name}", null, null,
                    Response("200", "Deleted", new JsonObject { ["type"] = "object" })),
            };
        }

        AddUserPaths(paths);
        foreach (var function in functions.Order(StringComparer.Ordinal))
        {
            var result = function == "pipelineSummary" ? SchemaRef("PipelineSummary") : new JsonObject();
            paths[$"/functions/{function}"] = new JsonObject
            {
                ["post"] = Operation("Functions", $"function_{function}", $"Run the {function} function",
                    function == "pipelineSummary" ? "Deal count and total amount per pipeline stage, over the deals the caller can see." : null, null,
                    Response("200", "The function's result", new JsonObject
                    {
                        ["type"] = "object", ["properties"] = new JsonObject { ["result"] = result },
                    }),
                    Body(new JsonObject { ["type"] = "object" }, new JsonObject())),
            };
        }
        if (paths.Any(p => p.Key.StartsWith("/functions/", StringComparison.Ordinal)))
            tags.Add(Tag("Functions", "Server-side functions."));

        return new JsonObject
        {
            ["openapi"] = "3.1.0",
            ["info"] = new JsonObject
            {
                ["title"] = "CRM REST API",
                ["version"] = ServerApi.Version,
                ["description"] = "The Parse REST protocol of this CRM server, generated from the live schema. Every request needs the "
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

    /// <summary>operationIds must be unique and readable: "_User" becomes "User".</summary>
    private static string OperationName(string className) => className.TrimStart('_');

    private static void AddUserPaths(JsonObject paths)
    {
        paths["/login"] = new JsonObject
        {
            ["post"] = Operation("Users", "logIn", "Log in", "Answers the user with a sessionToken: set it as the SessionToken credential.", null,
                Response("200", "The user and its session token", SchemaRef("SignUpResponse")),
                Body(new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject
                    {
                        ["username"] = new JsonObject { ["type"] = "string" },
                        ["password"] = new JsonObject { ["type"] = "string", ["format"] = "password" },
                    },
                    ["required"] = new JsonArray("username", "password"),
                }, new JsonObject { ["username"] = "alice", ["password"] = DemoData.Password }), security: AppIdOnly()),
        };
        paths["/users/me"] = new JsonObject
        {
            ["get"] = Operation("Users", "me", "The current user", null, null, Response("200", "The user of the session token", SchemaRef("_User"))),
        };
        paths["/logout"] = new JsonObject
        {
            ["post"] = Operation("Users", "logOut", "Log out", "Ends the session of the token sent.", null, Response("200", "Logged out", new JsonObject { ["type"] = "object" })),
        };
        paths["/health"] = new JsonObject
        {
            ["get"] = Operation("Users", "health", "Health check", null, null,
                Response("200", "The server is up", new JsonObject
                {
                    ["type"] = "object", ["properties"] = new JsonObject { ["status"] = new JsonObject { ["type"] = "string" } },
                }), security: AppIdOnly()),
        };
    }

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

    private static JsonArray QueryParameters() =>
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
