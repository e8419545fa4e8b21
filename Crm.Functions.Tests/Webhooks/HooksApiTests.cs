using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Webhooks;

/// <summary>
/// Parse's /hooks API (bodies and 143 errors as parse-server answers them), cloud functions implemented by URLs, and the
/// addresses webhooks may not reach (SSRF): refused at registration when the URL says so, at connection when DNS does,
/// and redirects never followed.
/// </summary>
public sealed class HooksApiTests
{
    [Fact]
    public async Task triggers_and_functions_are_registered_read_changed_and_removed_as_in_parse()
    {
        await using var receiver = new WebhookReceiver();
        using var server = new CrmServer(WebhookDeliveryTests.Settings());
        using var master = server.Client().AsMaster();
        var (user, _, _) = await server.UserAsync("notmaster");

        // Triggers.
        var created = (await master.PostAsync("hooks/triggers", new JsonObject { ["className"] = "Deal", ["triggerName"] = "afterSave", ["url"] = receiver.Url("/a") }))
            .EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Equal(64, created["secret"]!.GetValue<string>().Length);
        Assert.Equal("afterSave", created["triggerName"]!.GetValue<string>());
        Assert.Equal("class Deal already has trigger afterSave",
            (await master.PostAsync("hooks/triggers", new JsonObject { ["className"] = "Deal", ["triggerName"] = "afterSave", ["url"] = receiver.Url("/b") }))
                .EnsureError(143).Json!["error"]!.GetValue<string>());
        var list = (await master.GetAsync("hooks/triggers")).EnsureStatus(HttpStatusCode.OK).Json!.AsArray();
        var only = Assert.Single(list)!.AsObject();
        Assert.Equal(["className", "triggerName", "url"], only.Select(p => p.Key).Order());
        Assert.Equal(receiver.Url("/a"), (await master.GetAsync("hooks/triggers/Deal/afterSave")).EnsureStatus(HttpStatusCode.OK).Json!["url"]!.GetValue<string>());
        Assert.Equal("class Nope does not exist", (await master.GetAsync("hooks/triggers/Nope/afterSave")).EnsureError(143).Json!["error"]!.GetValue<string>());
        var moved = (await master.PutAsync("hooks/triggers/Deal/afterSave", new JsonObject { ["url"] = receiver.Url("/c") })).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Equal(receiver.Url("/c"), moved["url"]!.GetValue<string>());
        Assert.Null(moved["secret"]);
        (await master.PutAsync("hooks/triggers/Deal/afterDelete", new JsonObject { ["url"] = receiver.Url("/c") })).EnsureError(143);
        Assert.Equal("{}", (await master.PutAsync("hooks/triggers/Deal/afterSave", new JsonObject { ["__op"] = "Delete" })).EnsureStatus(HttpStatusCode.OK).Raw);
        Assert.Empty((await master.GetAsync("hooks/triggers")).Json!.AsArray());

        // Refused declarations: before-triggers (which would hold a write open on a remote call), unknown names, no url.
        var before = (await master.PostAsync("hooks/triggers", new JsonObject { ["className"] = "Deal", ["triggerName"] = "beforeSave", ["url"] = receiver.Url("/a") })).EnsureError(143);
        Assert.Contains("not supported", before.Json!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        foreach (var bad in new[]
        {
            new JsonObject { ["className"] = "Deal", ["triggerName"] = "onSave", ["url"] = receiver.Url("/a") },
            new JsonObject { ["className"] = "Deal", ["triggerName"] = "afterSave" },
            new JsonObject { ["className"] = "_WebhookDelivery", ["triggerName"] = "afterSave", ["url"] = receiver.Url("/a") },
            new JsonObject { ["url"] = receiver.Url("/a") },
            new JsonObject { ["functionName"] = "f", ["url"] = 5 },
        })
            Assert.StartsWith("invalid hook declaration", (await master.PostAsync("hooks/triggers", bad)).EnsureError(143).Json!["error"]!.GetValue<string>(), StringComparison.Ordinal);

        // Functions.
        (await master.PostAsync("hooks/functions", new JsonObject { ["functionName"] = "quote", ["url"] = receiver.Url("/fn") })).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal("function name: quote already exists",
            (await master.PostAsync("hooks/functions", new JsonObject { ["functionName"] = "quote", ["url"] = receiver.Url("/fn") })).EnsureError(143).Json!["error"]!.GetValue<string>());
        var functions = (await master.GetAsync("hooks/functions")).EnsureStatus(HttpStatusCode.OK).Json!.AsArray();
        Assert.Equal(["functionName", "url"], Assert.Single(functions)!.AsObject().Select(p => p.Key).Order());
        Assert.Equal("no function named: nope is defined", (await master.GetAsync("hooks/functions/nope")).EnsureError(143).Json!["error"]!.GetValue<string>());
        (await master.PutAsync("hooks/functions/quote", new JsonObject { ["url"] = receiver.Url("/fn2") })).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal(receiver.Url("/fn2"), (await master.GetAsync("hooks/functions/quote")).Json!["url"]!.GetValue<string>());
        Assert.Equal("{}", (await master.DeleteAsync("hooks/functions/quote")).EnsureStatus(HttpStatusCode.OK).Raw);
        (await master.DeleteAsync("hooks/functions/quote")).EnsureError(143);

        // Master key only.
        Assert.Equal(HttpStatusCode.Forbidden, (await user.GetAsync("hooks/triggers")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await user.PostAsync("hooks/functions", new JsonObject { ["functionName"] = "x", ["url"] = receiver.Url("/x") })).Status);
        Assert.Empty((await master.GetAsync("hooks/functions")).Json!.AsArray());
    }

    [Fact]
    public async Task a_function_registered_by_url_runs_there_and_its_answer_is_parses()
    {
        await using var receiver = new WebhookReceiver();
        using var server = new CrmServer(WebhookDeliveryTests.Settings());
        using var master = server.Client().AsMaster();
        var secret = (await master.PostAsync("hooks/functions", new JsonObject { ["functionName"] = "quote", ["url"] = receiver.Url("/quote") }))
            .EnsureStatus(HttpStatusCode.OK).Json!["secret"]!.GetValue<string>();
        receiver.Respond = (request, _) =>
        {
            var amount = request.Json["params"]!["amount"]?.GetValue<int>();
            return Task.FromResult(amount is null
                ? (200, "{\"error\":\"amount is required\"}", (string?)null)
                : (200, new JsonObject { ["success"] = new JsonObject { ["total"] = amount * 2 } }.ToJsonString(), null));
        };
        var (user, userId, _) = await server.UserAsync("caller");

        var answer = (await user.PostAsync("functions/quote", new JsonObject { ["amount"] = 21 })).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Equal(42, answer["result"]!["total"]!.GetValue<int>());
        var call = Assert.Single(receiver.On("/quote"));
        Assert.True(call.Verifies(secret));
        Assert.Equal("quote", call.Json["functionName"]!.GetValue<string>());
        Assert.Equal(userId, call.Json["user"]!["objectId"]!.GetValue<string>());
        Assert.False(call.Json["master"]!.GetValue<bool>());

        Assert.Equal("amount is required", (await user.PostAsync("functions/quote", new JsonObject())).EnsureError(141).Json!["error"]!.GetValue<string>());
        receiver.Respond = (_, _) => Task.FromResult((500, "", (string?)null));
        Assert.Contains("HTTP 500", (await user.PostAsync("functions/quote", new JsonObject { ["amount"] = 1 })).EnsureError(141).Json!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        (await user.PostAsync("functions/unknownOne", new JsonObject())).EnsureError(141);
    }

    [Fact]
    public async Task internal_addresses_are_refused_at_registration_and_at_connection()
    {
        await using var receiver = new WebhookReceiver();
        using var server = new CrmServer(WebhookDeliveryTests.Settings(("Parse:Webhooks:AllowLoopback", "false")));
        using var master = server.Client().AsMaster();
        foreach (var url in new[]
        {
            "https://10.1.2.3/hook", "https://172.16.0.9/hook", "https://192.168.1.1/hook", "https://169.254.169.254/latest/meta-data",
            "https://[::ffff:10.0.0.1]/hook", "https://[fe80::1]/hook", "https://0.0.0.0/hook", "https://127.0.0.1/hook",
            $"http://127.0.0.1:{receiver.Port}/hook", "http://example.com/hook", "ftp://example.com/hook", "https://user:pw@example.com/hook", "not a url",
        })
        {
            var refused = (await master.PostAsync("hooks/triggers", new JsonObject { ["className"] = "Ssrf", ["triggerName"] = "afterSave", ["url"] = url })).EnsureError(143);
            Assert.StartsWith("invalid hook declaration", refused.Json!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        }
        Assert.Empty((await master.GetAsync("hooks/triggers")).Json!.AsArray());

        // A name is only resolved when a delivery connects: localhost passes registration, and its address is refused then.
        await WebhookDeliveryTests.RegisterTriggerAsync(master, "Ssrf", "afterSave", $"https://localhost:{receiver.Port}/hook");
        await master.CreateAsync("Ssrf", new JsonObject { ["v"] = 1 });
        var dead = await DeadAsync(master, 1);
        var error = dead[0]!["lastError"]!.GetValue<string>();
        Assert.Contains("refused", error, StringComparison.Ordinal);
        Assert.Contains("loopback", error, StringComparison.Ordinal);
        Assert.Empty(receiver.Received);
    }

    [Fact]
    public async Task redirects_are_not_followed()
    {
        await using var receiver = new WebhookReceiver();
        using var server = new CrmServer(WebhookDeliveryTests.Settings());
        using var master = server.Client().AsMaster();
        await WebhookDeliveryTests.RegisterTriggerAsync(master, "Redirected", "afterSave", receiver.Url("/moved"));
        receiver.Respond = (_, _) => Task.FromResult((302, "{}", (string?)receiver.Url("/elsewhere")));
        await master.CreateAsync("Redirected", new JsonObject { ["v"] = 1 });
        var dead = await DeadAsync(master, 1);
        Assert.Equal("HTTP 302: redirects are not followed", dead[0]!["lastError"]!.GetValue<string>());
        Assert.Equal(3, receiver.On("/moved").Count);
        Assert.Empty(receiver.On("/elsewhere"));
    }

    private static async Task<JsonArray> DeadAsync(ParseClient master, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var dead = (await master.GetAsync("hooks/deliveries?status=dead")).EnsureStatus(HttpStatusCode.OK).Results;
            if (dead.Count >= count) return dead;
            if (DateTime.UtcNow > deadline) throw new TimeoutException((await master.GetAsync("hooks/deliveries")).Raw);
            await Task.Delay(50);
        }
    }
}
