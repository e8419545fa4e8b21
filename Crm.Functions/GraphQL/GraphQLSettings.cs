namespace Crm.Functions.GraphQL;

/// <summary>
/// The GraphQL door, bound from the "GraphQL" configuration section (env <c>GraphQL__MaxDepth</c>, …).
/// The limits are checked before anything runs, so an abusive query costs a parse and a walk of its text.
/// </summary>
internal sealed class GraphQLSettings
{
    public const string Section = "GraphQL";

    public bool Enabled { get; set; } = true;
    public string Path { get; set; } = "/graphql";
    /// <summary>Serve the GraphiQL page on GET {Path} from a browser.</summary>
    public bool GraphiQL { get; set; } = true;
    /// <summary>Deepest allowed selection nesting (introspection needs about 13).</summary>
    public int MaxDepth { get; set; } = 15;
    /// <summary>
    /// Largest allowed complexity, GraphQL.NET's estimate: one per field, list fields multiplied by their
    /// <c>first</c>/<c>last</c> argument or by 5 — so nesting lists multiplies the estimate as it would the work.
    /// </summary>
    public int MaxComplexity { get; set; } = 20_000;
    /// <summary>Aliased fields per document (aliases repeat work the complexity estimate cannot always see).</summary>
    public int MaxAliases { get; set; } = 50;
    /// <summary>Fields written in one document, fragments included.</summary>
    public int MaxFields { get; set; } = 500;
    /// <summary>Largest answer; a larger one is replaced by a 102 error (ask for fewer fields or pages).</summary>
    public long MaxResponseBytes { get; set; } = 16 * 1024 * 1024;
    /// <summary>
    /// Let any caller introspect (<c>__schema</c>, <c>__type</c>); by default only the master key may, as in Parse
    /// Server 8. GraphiQL's documentation pane needs one or the other.
    /// </summary>
    public bool PublicIntrospection { get; set; }
}
