using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.LiveQuery;

/// <summary>One server for the LiveQuery tests, with small caps so each is reachable; each test makes its own classes and users.</summary>
public sealed class LiveQueryFixture : IDisposable
{
    public const int MaxSubscriptions = 5, MaxConnectionsPerUser = 3, MaxFrameBytes = 8192, MaxWhereBytes = 2048;

    public CrmServer Server { get; } = new(TestSettings.Fast(
        ("LiveQuery:MaxSubscriptionsPerConnection", MaxSubscriptions.ToString()),
        ("LiveQuery:MaxConnectionsPerUser", MaxConnectionsPerUser.ToString()),
        ("LiveQuery:MaxFrameBytes", MaxFrameBytes.ToString()),
        ("Realtime:MaxWhereBytes", MaxWhereBytes.ToString()),
        ("Realtime:SessionCheckSeconds", "1")));

    public void Dispose() => Server.Dispose();

    /// <summary>Creates a class (master key) with string fields and the given CLP; returns its name.</summary>
    public static async Task<string> ClassAsync(CrmServer server, JsonObject? clp = null, params string[] fields)
    {
        var className = Wire.Unique("Lq");
        using var master = server.Client().AsMaster();
        var schemaFields = new JsonObject();
        foreach (var field in fields.DefaultIfEmpty("name").Concat(["stage", "amount", "owner"]).Distinct())
            schemaFields[field] = field switch
            {
                "amount" => new JsonObject { ["type"] = "Number" },
                "owner" => new JsonObject { ["type"] = "Pointer", ["targetClass"] = "_User" },
                _ => new JsonObject { ["type"] = "String" },
            };
        var body = new JsonObject { ["className"] = className, ["fields"] = schemaFields };
        if (clp is not null) body["classLevelPermissions"] = clp;
        (await master.PostAsync($"schemas/{className}", body)).EnsureStatus(HttpStatusCode.OK);
        return className;
    }

    public static JsonObject Acl(params (string Key, bool Write)[] readers)
    {
        var acl = new JsonObject();
        foreach (var (key, write) in readers) acl[key] = write ? new JsonObject { ["read"] = true, ["write"] = true } : new JsonObject { ["read"] = true };
        return acl;
    }
}
