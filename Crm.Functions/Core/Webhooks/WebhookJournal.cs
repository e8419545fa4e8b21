using System.Text.Json.Nodes;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Store;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Core.Webhooks;

/// <summary>
/// The webhook outbox: for every change of a class with afterSave/afterDelete URLs, one delivery per URL, stored with the
/// change (<see cref="IChangeJournal"/>) in the master-only class <c>_WebhookDelivery</c>. The payload is fixed here, at the
/// write: a retry sends exactly what the first attempt sent, and the object is shown as the master key reads it
/// (server-internal fields and passwords never).
/// </summary>
internal sealed class WebhookJournal(WebhookRegistry registry, IOptions<ParseSettings> options, Files.FileUrls fileUrls) : IChangeJournal
{
    public const string ClassName = "_WebhookDelivery";
    public const string Pending = "pending", Delivered = "delivered", Dead = "dead";

    private readonly ObjectEncoder _encoder = new(options.Value, fileUrls);

    public IReadOnlyList<string> RecordClasses { get; } = [ClassName];

    public bool Records(string className, string kind) => registry.HasTriggers(className);

    public IEnumerable<StoredObject> RecordsFor(JournalChange change)
    {
        var trigger = change.Kind == JournalChange.Delete ? WebhookRegistry.AfterDelete : WebhookRegistry.AfterSave;
        var hooks = registry.Triggers(change.Schema.ClassName, trigger).ToList();
        if (hooks.Count == 0) yield break;
        var at = ParseDates.Format(change.At);
        var payload = Payload(change, trigger, at);
        foreach (var hook in hooks)
        {
            var data = JournaledWrites.RecordData(change, Pending);
            data["hook"] = hook.Id;
            data["payload"] = payload;
            data["attempts"] = 0;
            data["nextAt"] = at;
            yield return JournaledWrites.Record(ClassName, change, data);
        }
    }

    private string Payload(JournalChange change, string trigger, string at)
    {
        var noneProtected = new HashSet<string>(StringComparer.Ordinal);
        var body = new JsonObject
        {
            ["id"] = change.ChangeId,
            ["event"] = change.Kind,
            ["triggerName"] = trigger,
            ["className"] = change.Schema.ClassName,
            ["object"] = _encoder.Encode(Auth.Master, change.Schema, change.Object, noneProtected),
        };
        if (change.Before is not null && change.After is not null)
            body["original"] = _encoder.Encode(Auth.Master, change.Schema, change.Before, noneProtected);
        body["triggeredAt"] = at;
        body["sequence"] = change.Sequence;
        body["user"] = change.Auth.IsMaster ? null : change.Auth.UserId;
        body["master"] = change.Auth.IsMaster;
        return body.ToJsonString();
    }
}
