namespace Crm.Functions.LiveQuery;

/// <summary>Wires the Parse LiveQuery door over the real-time core (<see cref="Realtime.RealtimeSetup"/>).</summary>
internal static class LiveQuerySetup
{
    public static void AddCrmLiveQuery(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<LiveQuerySettings>().Bind(builder.Configuration.GetSection(LiveQuerySettings.Section));
        builder.Services.AddSingleton<LiveQueryServer>();
        builder.Services.AddHostedService<LiveQuerySessions>();
    }
}
