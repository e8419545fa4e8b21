using Azure.Core;
using Crm.Functions.Core;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Triggers;
using Crm.Functions.Core.Store;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Realtime;

/// <summary>Wires real time: the local hub and its tokens, or Azure SignalR Service when Azure:SignalR:ConnectionString is set.</summary>
internal static class RealtimeSetup
{
    public static void AddCrmRealtime(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<RealtimeSettings>().Bind(builder.Configuration.GetSection(RealtimeSettings.Section))
            .PostConfigure<IOptions<ClassDeclarations>>((s, declarations) => s.FeedClasses = [.. s.FeedClasses.Union(declarations.Value.FeedClasses, StringComparer.Ordinal)]);
        services.AddSignalR();
        services.AddSingleton<HubTokens>();
        services.AddSingleton<SubscriptionFilter>();
        services.AddSingleton<Subscriptions>();
        services.AddSingleton<SubscriptionStore>();
        services.AddSingleton<SubscriptionEvents>();
        services.AddSingleton<SubscriberEvaluation>();
        services.AddSingleton<RealtimeFanout>();
        services.AddSingleton<Presence>();
        services.AddSingleton<ReaderCandidates>();
        services.AddSingleton<RecipientQueues>();
        // Parsed here so that a malformed setting stops the app at startup rather than at the first event.
        var signalR = SignalRConnectionString.Parse(builder.Configuration[SignalRConnectionString.Setting]);
        // A TokenCredential registered in DI (tests, or a host with its own identity setup) replaces the one the
        // connection string names; the app registers none itself.
        services.AddSingleton(sp => new AzureConnection(AzureSignalR.Create(signalR, sp.GetService<TokenCredential>(),
            new HttpClient { Timeout = TimeSpan.FromSeconds(10) }, sp.GetRequiredService<TimeProvider>())));
        // Deletes are pushed through an outbox (their records are stored with the deletes): a dying process loses none.
        services.TryAddSingleton<JournalRecovery>();
        services.AddSingleton<DeletePushOutbox>();
        services.AddSingleton<IChangeJournal>(sp => sp.GetRequiredService<DeletePushOutbox>());
        services.AddHostedService<RealtimePump>();
        services.AddSingleton<RealtimeSessions>();
        services.AddHostedService(sp => sp.GetRequiredService<RealtimeSessions>());
    }

    /// <summary>
    /// Registers the hook that keeps the previous state for the change-feed path — only where a change feed can
    /// exist (the Cosmos store, or when set explicitly): elsewhere it would cost every write a comparison and
    /// every stored object a copy of its previous values for nothing.
    /// </summary>
    public static void RegisterRealtimeHooks(this IServiceProvider services)
    {
        var settings = services.GetRequiredService<IOptions<RealtimeSettings>>().Value;
        if (!(settings.KeepPreviousState ?? services.GetRequiredService<IObjectStore>().Kind == "cosmos")) return;
        PreviousState.Register(services.GetRequiredService<TriggerRegistry>(), settings.FeedClasses);
    }
}
