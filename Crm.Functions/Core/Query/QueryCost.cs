namespace Crm.Functions.Core.Query;

/// <summary>What a parsed <c>where</c> will cost a store, known before it runs.</summary>
internal static class QueryCost
{
    /// <summary>
    /// The values the tree carries, summed over every branch and sub-query: each becomes a bound value or a
    /// term of the store's statement, so the sum (not any one list) is what a statement must hold.
    /// </summary>
    public static long Values(QueryNode node) => node switch
    {
        AndNode a => a.Children.Sum(Values),
        OrNode o => o.Children.Sum(Values),
        NotNode n => Values(n.Child),
        InNode i => i.Values.Count,
        AllNode a => a.Values.Count,
        ContainedByNode c => c.Values.Count,
        RelationContainsNode r => r.Ids.Count,
        InQueryNode q => 1 + Values(q.Where),
        SelectNode s => 1 + Values(s.Where),
        ConstNode or AclNode => 0,
        _ => 1,
    };

    /// <summary>Whether matching needs a regular expression (the one cost no index or bound can limit up front).</summary>
    public static bool HasRegex(QueryNode node) => node switch
    {
        RegexNode => true,
        AndNode a => a.Children.Any(HasRegex),
        OrNode o => o.Children.Any(HasRegex),
        NotNode n => HasRegex(n.Child),
        InQueryNode q => HasRegex(q.Where),
        SelectNode s => HasRegex(s.Where),
        _ => false,
    };
}
