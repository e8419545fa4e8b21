using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.CrmTemplate;

/// <summary>The CLI on a temporary data folder (a separate process on SQLite, in-process on Cosmos: see <see cref="Tools.CliAsync"/>), checked afterwards through HTTP.</summary>
public sealed class CliTests
{
    [Fact]
    public async Task seed_demo_creates_users_and_records_through_the_rules()
    {
        var folder = Tools.NewFolder();
        try
        {
            var run = await Tools.CliAsync(folder, "seed", "--demo");
            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.Contains("demo data:", run.StdOut, StringComparison.Ordinal);
            var rerun = await Tools.CliAsync(folder, "seed", "--demo");
            Assert.Contains("already present", rerun.StdOut, StringComparison.Ordinal);

            using var server = Tools.TemplateServer(folder);
            using var master = server.Client().AsMaster();
            var all = (await master.QueryAsync("Deal", extra: "limit=1000")).Results;
            var stages = all.Select(d => d!["stage"]!.GetValue<string>()).ToHashSet();
            Assert.Equal(new HashSet<string> { "lead", "qualified", "proposal", "negotiation", "won", "lost" }, stages);
            Assert.True((await master.QueryAsync("Activity")).Results.Count > 0);

            // Every record was made by a user through the rules: createdBy and an owner ACL, managers may read.
            foreach (var className in new[] { "Company", "Contact", "Deal", "Activity" })
                foreach (var record in (await master.QueryAsync(className, extra: "limit=1000")).Results)
                {
                    var owner = record!["createdBy"]!["objectId"]!.GetValue<string>();
                    Assert.True(record["ACL"]![owner]!["write"]!.GetValue<bool>());
                    Assert.True(record["ACL"]!["role:Managers"]!["read"]!.GetValue<bool>());
                    Assert.Null(record["ACL"]!["*"]);
                }

            using var alice = server.Client();
            var login = (await alice.PostAsync("login", new JsonObject { ["username"] = "alice", ["password"] = "demo-password" })).EnsureStatus(HttpStatusCode.OK);
            alice.SessionToken = login.Json!["sessionToken"]!.GetValue<string>();
            var aliceId = login.Json["objectId"]!.GetValue<string>();
            var visible = (await alice.QueryAsync("Deal", extra: "limit=1000")).Results;
            Assert.NotEmpty(visible);
            Assert.True(visible.Count < all.Count);
            Assert.All(visible, d => Assert.True(
                d!["createdBy"]!["objectId"]!.GetValue<string>() == aliceId || d["assignedTo"]!["objectId"]!.GetValue<string>() == aliceId));

            // carol is in Managers: her pipeline covers every deal.
            using var carol = server.Client();
            carol.SessionToken = (await carol.PostAsync("login", new JsonObject { ["username"] = "carol", ["password"] = "demo-password" }))
                .EnsureStatus(HttpStatusCode.OK).Json!["sessionToken"]!.GetValue<string>();
            var summary = (await carol.PostAsync("functions/pipelineSummary", new JsonObject())).EnsureStatus(HttpStatusCode.OK).Json!;
            Assert.Equal(all.Count, summary["result"]!["total"]!["count"]!.GetValue<long>());
            Assert.Equal(all.Sum(d => d!["amount"]!.GetValue<double>()), summary["result"]!["total"]!["amount"]!.GetValue<double>(), 3);
        }
        finally
        {
            Tools.DeleteFolder(folder);
        }
    }

    [Fact]
    public async Task user_create_makes_an_account_that_can_log_in_and_bad_arguments_fail_cleanly()
    {
        var folder = Tools.NewFolder();
        try
        {
            var run = await Tools.CliAsync(folder, "user", "create", "--username", "dana", "--email", "dana@example.com", "--password", "long enough password", "--role", "Managers");
            Assert.True(run.ExitCode == 0, run.ToString());
            var missing = await Tools.CliAsync(folder, "user", "create", "--username", "eve");
            Assert.Equal(2, missing.ExitCode);
            Assert.Contains("--password is required", missing.StdErr, StringComparison.Ordinal);
            var weak = await Tools.CliAsync(folder, "user", "create", "--username", "eve", "--password", "short");
            Assert.Equal(1, weak.ExitCode);
            Assert.Contains("error 142", weak.StdErr, StringComparison.Ordinal);

            using var server = new CrmServer(new Dictionary<string, string?> { ["Parse:DataFolder"] = folder });
            using var client = server.Client();
            (await client.PostAsync("login", new JsonObject { ["username"] = "dana", ["password"] = "long enough password" })).EnsureStatus(HttpStatusCode.OK);
        }
        finally
        {
            Tools.DeleteFolder(folder);
        }
    }
}
