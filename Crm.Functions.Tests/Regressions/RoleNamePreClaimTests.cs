using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.CrmTemplate;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Issue 17 item 9: anyone could create a role, and start-up adopted any existing role named by Crm:ManagersRole, so a
/// user who pre-claimed the name with himself as member read every deal after the next restart.
/// </summary>
public sealed class RoleNamePreClaimTests(FastServerFixture fixture) : IClassFixture<FastServerFixture>
{
    private static JsonObject RoleBody(string name, string? writer = null, string? member = null)
    {
        var acl = new JsonObject { ["*"] = new JsonObject { ["read"] = true } };
        if (writer is not null) acl[writer] = new JsonObject { ["read"] = true, ["write"] = true };
        var body = new JsonObject { ["name"] = name, ["ACL"] = acl };
        if (member is not null) body["users"] = Wire.Op("AddRelation", Wire.PointerTo("_User", member));
        return body;
    }

    [Fact]
    public async Task clients_cannot_create_change_or_delete_roles_by_default()
    {
        using var anonymous = fixture.Server.Client();
        (await anonymous.PostAsync("roles", RoleBody(Wire.Unique("Anon")))).EnsureError(119);

        using var bob = fixture.Server.Client();
        var (bobId, _) = await bob.SignUpAsync(Wire.Unique("bob"));
        var name = Wire.Unique("SalesManagers");
        (await bob.PostAsync("roles", RoleBody(name, bobId, bobId))).EnsureError(119);

        // A role the master key made with an ACL granting Bob write is still not Bob's to change.
        using var master = fixture.Server.Client().AsMaster();
        var roleId = (await master.PostAsync("roles", RoleBody(name, bobId))).EnsureStatus(HttpStatusCode.Created).Json!["objectId"]!.GetValue<string>();
        (await bob.PutAsync($"roles/{roleId}", new JsonObject { ["users"] = Wire.Op("AddRelation", Wire.PointerTo("_User", bobId)) })).EnsureError(119);
        (await bob.DeleteAsync($"roles/{roleId}")).EnsureError(119);
        Assert.Empty(await master.IdsAsync("_User", new JsonObject
        {
            ["$relatedTo"] = new JsonObject { ["object"] = Wire.PointerTo("_Role", roleId), ["key"] = "users" },
        }));
    }

    [Fact]
    public async Task a_setting_lets_clients_write_roles_under_their_acls()
    {
        using var server = new CrmServer(TestSettings.Fast(("Parse:AllowClientRoleWrites", "true")));
        using var bob = server.Client();
        var (bobId, _) = await bob.SignUpAsync(Wire.Unique("bob"));
        (await bob.PostAsync("roles", RoleBody(Wire.Unique("Team"), bobId, bobId))).EnsureStatus(HttpStatusCode.Created);
    }

    [Fact]
    public async Task start_up_refuses_a_managers_role_whose_acl_it_did_not_set()
    {
        var name = Wire.Unique("SalesManagers");
        var folder = Tools.NewFolder();
        try
        {
            using (var first = new CrmServer(TestSettings.Fast(("Parse:DataFolder", folder))))
            {
                using var bob = first.Client();
                var (bobId, _) = await bob.SignUpAsync(Wire.Unique("bob"));
                // As a client could before roles became master-only: a role of the configured name, with Bob in it.
                using var master = first.Client().AsMaster();
                (await master.PostAsync("roles", RoleBody(name, bobId, bobId))).EnsureStatus(HttpStatusCode.Created);
            }
            // The command line starts exactly as the server does (store, schema, template) before its command.
            var run = await Tools.CliAsync(folder, "template", "apply", "--Crm:ApplyTemplate=true", $"--Crm:ManagersRole={name}");
            Assert.True(run.ExitCode == 1, run.ToString());
            Assert.Contains("Start-up failed", run.StdErr, StringComparison.Ordinal);
            Assert.Contains(name, run.StdErr, StringComparison.Ordinal);

            // A role with the ACL the template gives it is adopted as before.
            var adopted = Wire.Unique("Managers");
            using (var again = new CrmServer(TestSettings.Fast(("Parse:DataFolder", folder))))
            {
                using var master = again.Client().AsMaster();
                (await master.PostAsync("roles", RoleBody(adopted))).EnsureStatus(HttpStatusCode.Created);
            }
            var ok = await Tools.CliAsync(folder, "template", "apply", "--Crm:ApplyTemplate=true", $"--Crm:ManagersRole={adopted}");
            Assert.True(ok.ExitCode == 0, ok.ToString());
        }
        finally
        {
            Tools.DeleteFolder(folder);
        }
    }
}
