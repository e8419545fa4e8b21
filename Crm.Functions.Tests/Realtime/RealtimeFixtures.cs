using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Crm.Functions.Tests.Realtime;

/// <summary>Small builders shared by the real-time tests; everything goes through the REST API.</summary>
internal static class RealtimeFixtures
{
    /// <summary>
    /// A server whose Deal and Activity are declared through settings as the CRM template declares them (test servers
    /// run without the template): both feed every reader, and a deal's update carries its previousStage.
    /// </summary>
    public static CrmServer FeedServer(IDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        var all = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["Classes:Deal:Feed"] = "true",
            ["Classes:Deal:PreviousValues:0"] = "stage",
            ["Classes:Activity:Feed"] = "true",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) all[key] = value;
        return new CrmServer(all, services);
    }

    public static JsonObject Acl(params (string Key, bool Write)[] entries)
    {
        var acl = new JsonObject();
        foreach (var (key, write) in entries) acl[key] = write ? new JsonObject { ["read"] = true, ["write"] = true } : new JsonObject { ["read"] = true };
        return acl;
    }

    public static async Task CreateDealClassAsync(CrmServer server, JsonObject? clp = null)
    {
        using var master = server.Client().AsMaster();
        var body = new JsonObject
        {
            ["className"] = "Deal",
            ["fields"] = new JsonObject
            {
                ["title"] = new JsonObject { ["type"] = "String" },
                ["stage"] = new JsonObject { ["type"] = "String" },
                ["amount"] = new JsonObject { ["type"] = "Number" },
                ["assignedTo"] = new JsonObject { ["type"] = "Pointer", ["targetClass"] = "_User" },
            },
        };
        if (clp is not null) body["classLevelPermissions"] = clp;
        (await master.PostAsync("schemas/Deal", body)).EnsureStatus(HttpStatusCode.OK);
    }

    public static async Task<string> CreateDealAsync(ParseClient client, JsonObject body)
    {
        var response = await client.PostAsync("classes/Deal", body);
        response.EnsureStatus(HttpStatusCode.Created);
        return response.Json!["objectId"]!.GetValue<string>();
    }
}
