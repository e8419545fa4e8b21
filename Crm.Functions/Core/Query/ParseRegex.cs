using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;
using Crm.Functions.Core.Requests;

namespace Crm.Functions.Core.Query;

/// <summary>
/// Parse's <c>$regex</c> is PCRE-style with <c>\Q…\E</c> literal quoting (the JS SDK's startsWith/contains use it),
/// which .NET does not know: quoted runs are translated to escaped text. Patterns run on the non-backtracking
/// engine when they can (no catastrophic backtracking, ever); patterns that need backtracking features
/// (look-arounds, back-references) fall back to the backtracking engine under a match timeout.
/// </summary>
internal static class ParseRegex
{
    private static readonly ConcurrentDictionary<(string, string), Regex> Cache = new();
    private const int MaxCached = 2048;

    public static TimeSpan MatchTimeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Matching time allowed to one query statement in the SQLite store: two match timeouts.</summary>
    public static TimeSpan StatementBudget => 2 * MatchTimeout;

    public const string TimeoutMessage = "$regex evaluation timed out.";

    public static ParseException TimedOut() => new(ParseError.Timeout, TimeoutMessage);

    public static bool ValidOptions(string options) => options.All(c => c is 'i' or 'm' or 'x' or 's');

    public static Regex Get(string pattern, string options)
    {
        if (Cache.TryGetValue((pattern, options), out var cached)) return cached;
        var regex = Build(pattern, options);
        if (Cache.Count >= MaxCached) Cache.Clear();
        Cache[(pattern, options)] = regex;
        return regex;
    }

    /// <summary>
    /// Matches under the timeout; a timed-out match is reported as a query timeout, never as a server fault.
    /// Every match, wherever it runs (inside SQLite, in memory), is charged to the request's regex time, so a
    /// request cannot multiply the per-match timeout over rows, statements, batch entries or GraphQL aliases.
    /// </summary>
    public static bool IsMatch(string pattern, string options, string input)
    {
        var budget = RequestBudget.Current;
        if (budget is null) return Match(pattern, options, input);
        budget.ChargeRegex(TimeSpan.Zero); // a spent budget stops before the next match
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            return Match(pattern, options, input);
        }
        finally
        {
            budget.AddRegexTime(System.Diagnostics.Stopwatch.GetElapsedTime(started));
        }
    }

    private static bool Match(string pattern, string options, string input)
    {
        try
        {
            return Get(pattern, options).IsMatch(input);
        }
        catch (RegexMatchTimeoutException)
        {
            throw TimedOut();
        }
    }

    public static Regex Build(string pattern, string options)
    {
        var translated = TranslateQuoting(pattern, Regex.Escape);
        var flags = RegexOptions.CultureInvariant;
        foreach (var c in options)
        {
            flags |= c switch
            {
                'i' => RegexOptions.IgnoreCase,
                'm' => RegexOptions.Multiline,
                'x' => RegexOptions.IgnorePatternWhitespace,
                's' => RegexOptions.Singleline,
                _ => RegexOptions.None,
            };
        }
        try
        {
            return new Regex(translated, flags | RegexOptions.NonBacktracking, MatchTimeout);
        }
        catch (NotSupportedException)
        {
            return new Regex(translated, flags, MatchTimeout);
        }
        catch (ArgumentException e)
        {
            throw new ParseException(ParseError.InvalidQuery, $"Invalid regular expression: {e.Message}");
        }
    }

    /// <summary>If the pattern is just <c>^\Q…\E</c> (the SDK's startsWith), the literal prefix; stores can use it as an index range.</summary>
    public static string? LiteralPrefix(string pattern, string options)
    {
        if (options.Length != 0 || !pattern.StartsWith(@"^\Q", StringComparison.Ordinal) || !pattern.EndsWith(@"\E", StringComparison.Ordinal)) return null;
        var literal = pattern[3..^2];
        return literal.Contains(@"\E", StringComparison.Ordinal) ? null : literal;
    }

    /// <summary>
    /// Rewrites every <c>\Q…\E</c> run (an unterminated one runs to the end) into its literal, escaped by
    /// <paramref name="escape"/> for the engine that will run the pattern.
    /// </summary>
    public static string TranslateQuoting(string pattern, Func<string, string> escape)
    {
        if (!pattern.Contains(@"\Q", StringComparison.Ordinal)) return pattern;
        var sb = new StringBuilder();
        var i = 0;
        while (i < pattern.Length)
        {
            var start = pattern.IndexOf(@"\Q", i, StringComparison.Ordinal);
            if (start < 0) { sb.Append(pattern, i, pattern.Length - i); break; }
            sb.Append(pattern, i, start - i);
            var end = pattern.IndexOf(@"\E", start + 2, StringComparison.Ordinal);
            var literal = end < 0 ? pattern[(start + 2)..] : pattern[(start + 2)..end];
            sb.Append(escape(literal));
            i = end < 0 ? pattern.Length : end + 2;
        }
        return sb.ToString();
    }
}
