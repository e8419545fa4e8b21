using Crm.Functions.Core;
using Crm.Functions.Core.History;
using Crm.Functions.Http;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Crm.Functions.Hosting;

/// <summary>The record history: its journal, the service every door reads it through, and the pruner (docs/history.md).</summary>
internal static class HistorySetup
{
    public static void AddCrmHistory(this IServiceCollection services)
    {
        services.TryAddSingleton<JournalRecovery>();
        services.AddSingleton<HistoryJournal>();
        services.AddSingleton<IChangeJournal>(sp => sp.GetRequiredService<HistoryJournal>());
        services.AddSingleton<HistoryService>();
        services.AddSingleton<HistoryPruner>();
        services.AddHostedService(sp => sp.GetRequiredService<HistoryPruner>());
    }

    public static void MapHistory(ParseRouter router, IServiceProvider sp) => HistoryApi.Map(router, sp.GetRequiredService<HistoryService>());
}
