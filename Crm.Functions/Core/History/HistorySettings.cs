namespace Crm.Functions.Core.History;

/// <summary>The record history (docs/history.md): who changed which fields of an object, when and through which door.</summary>
internal sealed class HistorySettings
{
    /// <summary>The classes recorded when <see cref="Classes"/> is left empty: the CRM's.</summary>
    public static readonly IReadOnlyList<string> DefaultClasses = ["Company", "Contact", "Deal", "Activity"];

    /// <summary>
    /// The classes whose changes are recorded; empty: <see cref="DefaultClasses"/>. (A list bound from configuration is
    /// appended to its initial items, so the defaults cannot be the initial value.) To record nothing, list a name no class has.
    /// </summary>
    public List<string> Classes { get; set; } = [];

    /// <summary>Days a history entry is kept; 0 keeps entries for ever. Fractions are allowed.</summary>
    public double RetentionDays { get; set; } = 365;

    /// <summary>How often expired entries are pruned (in batches of <see cref="HistoryPruner.BatchSize"/>).</summary>
    public double PruneIntervalSeconds { get; set; } = 3600;

    public IReadOnlyList<string> EffectiveClasses => Classes.Count > 0 ? Classes : DefaultClasses;
}
