namespace Crm.Functions.Core.Schema;

/// <summary>
/// What an application declares about its classes, for the generic mechanisms to act on: the core, the stores
/// and real time hold only the mechanisms and know no class by name. Bound from the <c>Classes</c> settings
/// section (<c>Classes:Deal:Feed=true</c>, …) and filled in code by a plug-in feature — the CRM template
/// declares its classes when <c>Crm:ApplyTemplate</c> is true — so a server without the template knows nothing
/// of deals or stages.
/// </summary>
internal sealed class ClassDeclarations
{
    public const string Section = "Classes";

    /// <summary>Declarations by class name.</summary>
    public Dictionary<string, ClassDeclaration> Classes { get; } = new(StringComparer.Ordinal)
    {
        // Parse's own session class: a session the master key creates for a user belongs to that user.
        ["_Session"] = new ClassDeclaration { OwnerFields = ["user"] },
    };

    public ClassDeclaration? Of(string className) => Classes.GetValueOrDefault(className);

    /// <summary>The declaration of a class, created empty on first use (for code that declares).</summary>
    public ClassDeclaration Declare(string className)
    {
        if (!Classes.TryGetValue(className, out var declaration)) Classes[className] = declaration = new ClassDeclaration();
        return declaration;
    }

    /// <summary>The classes whose changes every reader receives without subscribing.</summary>
    public IEnumerable<string> FeedClasses => Classes.Where(c => c.Value.Feed).Select(c => c.Key);
}

/// <summary>What one class declares (see <see cref="ClassDeclarations"/>).</summary>
internal sealed class ClassDeclaration
{
    /// <summary>
    /// Pointer-to-_User fields naming the owner of a new object, the first one set winning; the owner is the object's
    /// partition on Cosmos. Without one, the owner is the caller.
    /// </summary>
    public List<string> OwnerFields { get; set; } = [];

    /// <summary>
    /// Whether every reader receives this class's changes without subscribing (the dashboard feed), which also
    /// gives the class a change-feed endpoint <c>/{Class}Changes</c> for the Functions host.
    /// </summary>
    public bool Feed { get; set; }

    /// <summary>
    /// Fields whose previous value a real-time update carries as <c>previous&lt;Field&gt;</c> (<c>stage</c> gives
    /// <c>previousStage</c>) when it changed and the recipient may read it.
    /// </summary>
    public List<string> PreviousValues { get; set; } = [];

    /// <summary>
    /// Multi-field sort orders the class is read in, in Parse's order syntax (<c>stage,-updatedAt</c>): the Cosmos
    /// store, which cannot sort on two fields without one, creates a composite index for each.
    /// </summary>
    public List<string> CompositeIndexes { get; set; } = [];

    /// <summary>Adds values not yet in a list (a setting and the code may declare the same one).</summary>
    public static void AddNew(List<string> list, params string[] values) => list.AddRange(values.Where(v => !list.Contains(v)));

    /// <summary>The key name of a previous value in a real-time payload: previous + the field with a capital.</summary>
    public static string PreviousKey(string field) => "previous" + char.ToUpperInvariant(field[0]) + field[1..];
}
