using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Security;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Crm;

/// <summary>
/// The CRM's administrative commands (seed, template apply, user create), run by the generic command-line host
/// (<c>Hosting/ServerCli</c>) on the same host setup as the server.
/// </summary>
internal static class CrmCli
{
    /// <summary>The usage lines of the CRM commands.</summary>
    public const string Usage = """
          seed [--demo] [--seed N]            apply the CRM template; with --demo also create demo users and data
          template apply                      apply the CRM template (idempotent)
          user create --username NAME --password PASSWORD [--email EMAIL] [--role ROLE]
        """;

    /// <summary>Runs a CRM command on a started host; null when <paramref name="args"/> names none of them.</summary>
    public static async Task<int?> DispatchAsync(IServiceProvider sp, string[] args, TextWriter stdout, CancellationToken ct)
    {
        var data = sp.GetRequiredService<DataService>();
        switch (args)
        {
            case ["seed", .. var rest]:
            {
                Print(stdout, [.. sp.GetRequiredService<TemplateLog>().AtStart, .. await CrmSetup.ApplyTemplateAsync(sp, ct)], "template in place");
                if (!rest.Contains("--demo")) return 0;
                // Demo data must pass through the rules, which only run with the template switched on.
                if (!sp.GetRequiredService<IOptions<CrmSettings>>().Value.ApplyTemplate)
                    throw new CommandUsageException("seed --demo needs Crm:ApplyTemplate=true (the CRM rules must apply to the demo data)");
                var seed = int.TryParse(Option(rest, "--seed"), out var s) ? s : 20261124;
                var role = sp.GetRequiredService<IOptions<CrmSettings>>().Value.ManagersRole;
                var result = await sp.GetRequiredService<DemoData>().SeedAsync(seed, role, ct);
                if (result.AlreadyPresent)
                {
                    stdout.WriteLine("demo data already present; nothing added");
                    return 0;
                }
                stdout.WriteLine($"demo data: {result.Users} users, {result.Companies} companies, {result.Contacts} contacts, {result.Deals} deals, {result.Activities} activities");
                stdout.WriteLine($"log in as {string.Join(", ", DemoData.SalesUsers)} (sales) or {DemoData.Manager} (member of {role}), password '{DemoData.Password}'");
                return 0;
            }
            case ["template", "apply"]:
                Print(stdout, [.. sp.GetRequiredService<TemplateLog>().AtStart, .. await CrmSetup.ApplyTemplateAsync(sp, ct)], "template in place");
                return 0;
            case ["user", "create", .. var rest]:
            {
                var username = Option(rest, "--username") ?? throw new CommandUsageException("--username is required");
                var password = Option(rest, "--password") ?? throw new CommandUsageException("--password is required");
                var body = new JsonObject { ["username"] = username, ["password"] = password };
                if (Option(rest, "--email") is { } email) body["email"] = email;
                // A sign-up through the core: the same password policy and hashing as the REST door.
                var created = await data.CreateAsync(Auth.Anonymous, "_User", body, ct);
                var id = created.Object.ObjectId;
                if (Option(rest, "--role") is { } role) await AddToRoleAsync(data, role, id, ct);
                stdout.WriteLine($"created user {username} ({id})");
                return 0;
            }
            default:
                return null;
        }
    }

    private static async Task AddToRoleAsync(DataService data, string role, string userId, CancellationToken ct)
    {
        var found = await data.FindAsync(Auth.Master, "_Role", new FindRequest { Where = new JsonObject { ["name"] = role }, Limit = 1 }, ct);
        if (found.Results.Count == 0) throw new CommandUsageException($"no role named {role}");
        await data.UpdateAsync(Auth.Master, "_Role", found.Results[0]["objectId"]!.GetValue<string>(), new JsonObject
        {
            ["users"] = new JsonObject { ["__op"] = "AddRelation", ["objects"] = new JsonArray(CrmRules.Pointer("_User", userId)) },
        }, ct);
    }

    /// <summary>The value of <c>--name VALUE</c> or <c>--name=VALUE</c>; null when absent.</summary>
    public static string? Option(string[] args, string name)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == name) return i + 1 < args.Length ? args[i + 1] : throw new CommandUsageException($"{name} needs a value");
            if (args[i].StartsWith(name + "=", StringComparison.Ordinal)) return args[i][(name.Length + 1)..];
        }
        return null;
    }

    public static void Print(TextWriter stdout, IReadOnlyList<string> changes, string none)
    {
        if (changes.Count == 0) stdout.WriteLine(none);
        foreach (var change in changes) stdout.WriteLine(change);
    }
}

/// <summary>A command used wrongly: the message and the usage, exit code 2.</summary>
internal sealed class CommandUsageException(string message) : Exception(message);
