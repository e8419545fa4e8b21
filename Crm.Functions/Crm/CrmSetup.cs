using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Crm.Functions.Core;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Triggers;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Crm;

/// <summary>Registration of the CRM feature: settings, rules, the template at start.</summary>
internal static partial class CrmSetup
{
    [GeneratedRegex("^[0-9A-Za-z_\\- ]{1,128}$")]
    private static partial Regex RoleName();

    public static void AddCrm(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<CrmSettings>().Bind(configuration.GetSection(CrmSettings.Section))
            .Validate(s => string.IsNullOrWhiteSpace(s.ManagersRole) || RoleName().IsMatch(s.ManagersRole.Trim()),
                "Setting Crm:ManagersRole must be a role name: letters, digits, _, - and spaces (or empty to turn it off).")
            .ValidateOnStart();
        // The template plugs its knowledge into the generic mechanisms only when it is on.
        services.AddOptions<ClassDeclarations>().Configure<IOptions<CrmSettings>>((declarations, crm) =>
        {
            if (crm.Value.ApplyTemplate) CrmTemplate.Declare(declarations);
        });
        services.AddSingleton<TemplateLog>();
        services.AddSingleton<CrmRules>();
        services.AddSingleton<DemoData>();
    }

    /// <summary>
    /// Registers the rules and applies the template (a no-op once it is in place). Turned off, neither
    /// happens: rules on classes the template did not make would surprise whoever made them.
    /// </summary>
    public static async Task InitializeCrmAsync(this IServiceProvider sp, CancellationToken ct)
    {
        if (!sp.GetRequiredService<IOptions<CrmSettings>>().Value.ApplyTemplate) return;
        sp.GetRequiredService<CrmRules>().Register(sp.GetRequiredService<TriggerRegistry>());
        sp.GetRequiredService<TemplateLog>().AtStart = await ApplyTemplateAsync(sp, ct);
    }

    public static async Task<IReadOnlyList<string>> ApplyTemplateAsync(IServiceProvider sp, CancellationToken ct)
    {
        var data = sp.GetRequiredService<DataService>();
        var changes = (await SchemaDocument.ImportAsync(data.Schemas, CrmTemplate.Document, overwriteDescriptions: false, ct)).ToList();
        if (await EnsureManagersRoleAsync(data, sp.GetRequiredService<IOptions<CrmSettings>>().Value, ct) is { } role) changes.Add(role);
        return changes;
    }

    /// <summary>Everyone may read the managers role (clients resolve membership); only the master key changes it.</summary>
    private static JsonObject ManagersRoleAcl() => new() { ["*"] = new JsonObject { ["read"] = true } };

    /// <summary>
    /// The widening role exists from the start, so granting it is one "add user to role" away. An existing role of
    /// that name is adopted only when it carries the ACL this method gives it: one with any other ACL may have been
    /// made by a client to pre-claim the name (and its members would read every deal), so start-up stops instead of
    /// silently trusting it, and the operator deletes or fixes the role with the master key.
    /// </summary>
    private static async Task<string?> EnsureManagersRoleAsync(DataService data, CrmSettings settings, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(settings.ManagersRole)) return null;
        var name = settings.ManagersRole.Trim();
        var existing = await data.FindAsync(Auth.Master, "_Role", new FindRequest { Where = new JsonObject { ["name"] = name }, Limit = 1 }, ct);
        if (existing.Results.Count > 0)
        {
            var role = existing.Results[0];
            if (JsonNode.DeepEquals(role["ACL"], ManagersRoleAcl())) return null;
            throw new InvalidOperationException(
                $"Setting Crm:ManagersRole names role '{name}' (objectId {role["objectId"]}), which exists with an ACL the server did not set "
                + $"({role["ACL"]?.ToJsonString() ?? "none"}); it may have been created by a client to claim the name. "
                + "Check its members, then delete it or set its ACL to {\"*\":{\"read\":true}} with the master key, or choose another role name.");
        }
        await data.CreateAsync(Auth.Master, "_Role", new JsonObject { ["name"] = name, ["ACL"] = ManagersRoleAcl() }, ct);
        return $"created role {name}";
    }
}

/// <summary>What the template changed when this process started (the command line reports it).</summary>
internal sealed class TemplateLog
{
    public IReadOnlyList<string> AtStart { get; set; } = [];
}
