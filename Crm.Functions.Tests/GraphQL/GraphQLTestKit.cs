using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.GraphQL;

/// <summary>The CRM classes of shared/crm-schema.json, created through /schemas with the master key.</summary>
public static class CrmClasses
{
    public static readonly string[] Stages = ["lead", "qualified", "proposal", "negotiation", "won", "lost"];

    private static JsonObject F(string type, bool required = false, string? target = null)
    {
        var field = new JsonObject { ["type"] = type };
        if (required) field["required"] = true;
        if (target is not null) field["targetClass"] = target;
        return field;
    }

    /// <summary>Only authenticated users may use the CRM classes (the CRM's class-level permissions).</summary>
    private static JsonObject Clp()
    {
        var clp = new JsonObject();
        foreach (var op in new[] { "find", "count", "get", "create", "update", "delete" }) clp[op] = new JsonObject { ["requiresAuthentication"] = true };
        clp["addField"] = new JsonObject();
        return clp;
    }

    public static IReadOnlyList<(string ClassName, JsonObject Fields)> All =>
    [
        ("Company", new JsonObject
        {
            ["name"] = F("String", required: true), ["website"] = F("String"), ["industry"] = F("String"), ["address"] = F("String"),
            ["notes"] = F("String"), ["createdBy"] = F("Pointer", target: "_User"),
        }),
        ("Contact", new JsonObject
        {
            ["name"] = F("String", required: true), ["email"] = F("String"), ["phone"] = F("String"),
            ["company"] = F("Pointer", target: "Company"), ["notes"] = F("String"), ["createdBy"] = F("Pointer", target: "_User"),
        }),
        ("Deal", new JsonObject
        {
            ["title"] = F("String", required: true), ["amount"] = F("Number"), ["stage"] = F("String"),
            ["contact"] = F("Pointer", target: "Contact"), ["company"] = F("Pointer", target: "Company"),
            ["expectedCloseDate"] = F("Date"), ["notes"] = F("String"), ["assignedTo"] = F("Pointer", target: "_User"),
        }),
        ("Activity", new JsonObject
        {
            ["type"] = F("String"), ["subject"] = F("String"), ["description"] = F("String"), ["dueDate"] = F("Date"),
            ["completedAt"] = F("Date"), ["relatedTo"] = F("Pointer", target: "Contact|Deal"), ["createdBy"] = F("Pointer", target: "_User"),
        }),
    ];

    public static async Task CreateAsync(CrmServer server)
    {
        using var master = server.Client().AsMaster();
        foreach (var (className, fields) in All)
            (await master.PostAsync($"schemas/{className}", new JsonObject { ["className"] = className, ["fields"] = fields, ["classLevelPermissions"] = Clp() }))
                .EnsureStatus(HttpStatusCode.OK);
    }
}

/// <summary>One server with the CRM classes for the tests of a class; each test signs up its own users.</summary>
public sealed class CrmGraphQLFixture : IAsyncLifetime, IDisposable
{
    public CrmServer Server { get; } = new();

    public Task InitializeAsync() => CrmClasses.CreateAsync(Server);
    public Task DisposeAsync() => Task.CompletedTask;
    public void Dispose() => Server.Dispose();

    /// <summary>A GraphQL client signed in as a fresh user (signed up over REST).</summary>
    public async Task<(GraphQLClient Client, string UserId)> UserAsync(string prefix)
    {
        using var rest = Server.Client();
        var (userId, token) = await rest.SignUpAsync(Wire.Unique(prefix));
        return (new GraphQLClient(Server).WithSession(token), userId);
    }
}
