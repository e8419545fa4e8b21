using Crm.Functions.Core;
using Crm.Functions.Core.Webhooks;
using Crm.Functions.Http;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Crm.Functions.Hosting;

/// <summary>Outgoing webhooks: the registry behind /hooks, the outbox journal, the sender and the dispatcher (docs/webhooks.md).</summary>
internal static class WebhookSetup
{
    public static void AddCrmWebhooks(this IServiceCollection services)
    {
        services.AddSingleton<WebhookAddresses>();
        services.AddSingleton<WebhookRegistry>();
        services.AddSingleton<WebhookSender>();
        services.TryAddSingleton<JournalRecovery>();
        services.AddSingleton<WebhookJournal>();
        services.AddSingleton<IChangeJournal>(sp => sp.GetRequiredService<WebhookJournal>());
        services.AddHostedService<WebhookDispatcher>();
    }

    public static void MapWebhooks(ParseRouter router, IServiceProvider sp) =>
        HooksApi.Map(router, sp.GetRequiredService<WebhookRegistry>(), sp.GetRequiredService<Core.Store.IObjectStore>());

    public static Task InitializeWebhooksAsync(this IServiceProvider sp, CancellationToken ct) =>
        sp.GetRequiredService<WebhookRegistry>().LoadAsync(ct);
}
