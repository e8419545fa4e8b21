using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Store;
using Crm.Functions.Core.Webhooks;
using Crm.Functions.Tests.Infrastructure;
using Crm.Functions.Tests.Webhooks;
using Microsoft.Extensions.DependencyInjection;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Bug: the webhook dispatcher looked a delivery's hook up only in its instance's snapshot of the registry and, not finding
/// it, dead-lettered the delivery at once as sent to a removed hook. The snapshot lags the store: at start-up the dispatcher
/// (a hosted service) ran its first rounds before the server had read the hooks, so a restart with a backlog — the SIGKILL
/// test under load — dead-lettered the whole outbox and delivered nothing; and between refreshes an instance does not know a
/// hook another instance has just registered. A hook missing from the snapshot is now read again from the store, and the
/// dispatcher starts once start-up has read the hooks.
/// </summary>
public sealed class WebhookDeadLetteredAsRemovedHookTests
{
    [Fact]
    public async Task a_delivery_to_a_hook_this_instance_has_not_read_yet_is_sent_not_dead_lettered()
    {
        await using var receiver = new WebhookReceiver();
        using var server = new CrmServer(WebhookDeliveryTests.Settings());
        using var master = server.Client().AsMaster();
        var id = await master.CreateAsync("Invoice", new JsonObject { ["n"] = 1 });

        // Another instance over the same store registers a hook and commits a change with its delivery: this instance's
        // registry has not been refreshed since (it refreshes every few seconds), but its dispatcher reads the outbox now.
        var store = server.Services.GetRequiredService<IObjectStore>();
        var otherInstance = new WebhookRegistry(store, server.Services.GetRequiredService<WebhookAddresses>(), TimeProvider.System);
        var (hook, secret) = await otherInstance.CreateAsync(
            new JsonObject { ["className"] = "Invoice", ["triggerName"] = "afterSave", ["url"] = receiver.Url("/invoice") }, CancellationToken.None);
        var now = ParseDates.Format(DateTimeOffset.UtcNow);
        await store.InsertAsync(new StoredObject
        {
            ClassName = WebhookJournal.ClassName, ObjectId = ObjectIds.New(), OwnerId = "Invoice:" + id, CreatedAt = now, UpdatedAt = now,
            Data = new JsonObject
            {
                ["status"] = WebhookJournal.Pending, ["targetClass"] = "Invoice", ["targetId"] = id, ["change"] = ObjectIds.New(16),
                ["kind"] = JournalChange.Update, ["seq"] = 2, ["changedAt"] = now, ["hook"] = hook.Id, ["attempts"] = 0, ["nextAt"] = now,
                ["payload"] = new JsonObject { ["event"] = "update", ["className"] = "Invoice", ["object"] = new JsonObject { ["objectId"] = id } }.ToJsonString(),
            },
        }, [], CancellationToken.None);

        var received = await receiver.WaitForAsync(r => r.Count == 1, TimeSpan.FromSeconds(30));
        Assert.True(received[0].Verifies(secret));
        Assert.Empty((await master.GetAsync("hooks/deliveries?status=dead")).EnsureStatus(HttpStatusCode.OK).Results);
    }
}
