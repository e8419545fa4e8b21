using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Schema;

namespace Crm.Functions.Core.Query;

/// <summary>
/// A full-text constraint (<c>{"title": {"$text": {"$search": {"$term": "acme renewal"}}}}</c>) on one String field.
/// Matching follows MongoDB's <c>$search</c> grammar, which Parse inherits: plain words are alternatives (any one
/// matches), <c>"quoted phrases"</c> are all required (then plain words only rank), <c>-word</c> excludes. Each word
/// matches the words of the field that begin with it, ignoring case and diacritics ("renew" finds "Renewal",
/// "cafe" finds "Café"); there is no language stemming, so both stores give the same answer.
/// </summary>
internal sealed record TextNode(FieldRef Field, TextTerms Terms) : QueryNode;

/// <summary>The parsed <c>$term</c>: every entry is a phrase of normalised tokens (a plain word is a phrase of one).</summary>
internal sealed record TextTerms(IReadOnlyList<IReadOnlyList<string>> Words, IReadOnlyList<IReadOnlyList<string>> Phrases,
    IReadOnlyList<IReadOnlyList<string>> Excluded)
{
    /// <summary>Nothing can match: no word and no phrase (Mongo answers nothing for a term of exclusions only).</summary>
    public bool IsEmpty => Words.Count == 0 && Phrases.Count == 0;

    /// <summary>The tokens that rank a match: every token of the words and phrases.</summary>
    public IEnumerable<string> RankingTokens => Words.Concat(Phrases).SelectMany(p => p);
}

internal static class TextSearch
{
    /// <summary>The name of the schema index that a <c>$text</c> on a field creates (as parse-server names it on MongoDB).</summary>
    public static string IndexName(string field) => field + "_text";

    /// <summary>The order key and result field of relevance (<c>order=$score</c>, <c>keys=$score</c>).</summary>
    public const string ScoreKey = "$score";

    public const string ScoreField = "score";

    private const int MaxTermLength = 1000;
    private const int MaxTokens = 32;

    /// <summary>Parses the operand of <c>$text</c>; malformed parts are 107, as parse-server words them.</summary>
    public static QueryNode Parse(FieldRef field, JsonNode? operand)
    {
        if (operand is not JsonObject text || text["$search"] is not JsonObject search)
            throw new ParseException(ParseError.InvalidJson, "bad $text: $search, should be object");
        foreach (var (key, _) in search)
            if (key is not ("$term" or "$language" or "$caseSensitive" or "$diacriticSensitive"))
                throw new ParseException(ParseError.InvalidJson, $"bad $text: unknown option {Names.Truncate(key)}");
        if (search["$term"] is not JsonValue tv || !tv.TryGetValue(out string? term))
            throw new ParseException(ParseError.InvalidJson, "bad $text: $term, should be string");
        if (search.ContainsKey("$language") && (search["$language"] is not JsonValue lv || !lv.TryGetValue(out string? _)))
            throw new ParseException(ParseError.InvalidJson, "bad $text: $language, should be string");
        // Both stores index text folded to lower case without diacritics, so a sensitive search cannot be answered
        // from the index; refused as parse-server's PostgreSQL adapter refuses what its index cannot do.
        if (Flag(search, "$caseSensitive"))
            throw new ParseException(ParseError.InvalidJson, "bad $text: $caseSensitive not supported, please use $regex.");
        if (Flag(search, "$diacriticSensitive"))
            throw new ParseException(ParseError.InvalidJson, "bad $text: $diacriticSensitive not supported, please use $regex.");
        if (term.Length > MaxTermLength)
            throw new ParseException(ParseError.InvalidQuery, $"bad $text: $term is longer than {MaxTermLength} characters.");
        if (field.Path.Count > 0)
            throw new ParseException(ParseError.InvalidQuery, $"$text works on a String field of the class, not on {Names.Truncate(field.Dotted)}.");

        var terms = ParseTerm(term);
        if (terms.Words.Count + terms.Phrases.Count + terms.Excluded.Count > MaxTokens)
            throw new ParseException(ParseError.InvalidQuery, $"bad $text: $term has more than {MaxTokens} words.");
        // A field that is not a String holds no text: nothing matches (as a text index on it would hold nothing).
        if (terms.IsEmpty || field.Definition?.Type != FieldType.String) return QueryNode.False;
        return new TextNode(field, terms);
    }

    private static bool Flag(JsonObject search, string name)
    {
        if (!search.ContainsKey(name)) return false;
        if (search[name] is not JsonValue v || !v.TryGetValue(out bool flag))
            throw new ParseException(ParseError.InvalidJson, $"bad $text: {name}, should be boolean");
        return flag;
    }

    /// <summary>Mongo's <c>$search</c> grammar: "quoted phrases", -excluded words or phrases, plain words.</summary>
    public static TextTerms ParseTerm(string term)
    {
        var words = new List<IReadOnlyList<string>>();
        var phrases = new List<IReadOnlyList<string>>();
        var excluded = new List<IReadOnlyList<string>>();
        var i = 0;
        while (i < term.Length)
        {
            if (char.IsWhiteSpace(term[i])) { i++; continue; }
            var negate = term[i] == '-' && i + 1 < term.Length && !char.IsWhiteSpace(term[i + 1]);
            if (negate) i++;
            string raw;
            var quoted = term[i] == '"';
            if (quoted)
            {
                var end = term.IndexOf('"', i + 1);
                raw = end < 0 ? term[(i + 1)..] : term[(i + 1)..end];
                i = end < 0 ? term.Length : end + 1;
            }
            else
            {
                var start = i;
                while (i < term.Length && !char.IsWhiteSpace(term[i])) i++;
                raw = term[start..i];
            }
            var tokens = Tokens(raw);
            if (tokens.Count == 0) continue;
            if (negate) excluded.Add(tokens);
            // A word the tokenizer splits ("e-mail") must match as its parts in a row, as a phrase does.
            else if (quoted) phrases.Add(tokens);
            else words.Add(tokens);
        }
        return new TextTerms(Distinct(words), Distinct(phrases), Distinct(excluded));
    }

    private static List<IReadOnlyList<string>> Distinct(List<IReadOnlyList<string>> list) =>
        list.DistinctBy(p => string.Join(' ', p), StringComparer.Ordinal).ToList();

    /// <summary>
    /// Text as index tokens: letters and digits, lower case, diacritics removed; anything else separates. This is
    /// what SQLite's FTS5 <c>unicode61 remove_diacritics 2</c> tokenizer does, and what the Cosmos store keeps.
    /// </summary>
    public static List<string> Tokens(string text)
    {
        var tokens = new List<string>();
        var current = new StringBuilder();
        foreach (var ch in text)
        {
            var category = CharUnicodeInfo.GetUnicodeCategory(ch);
            if (category is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark) continue;
            if (char.IsLetterOrDigit(ch))
            {
                var lower = char.ToLowerInvariant(ch);
                current.Append(Folded.TryGetValue(lower, out var plain) ? plain : lower);
            }
            else if (current.Length > 0) { tokens.Add(current.ToString()); current.Clear(); }
        }
        if (current.Length > 0) tokens.Add(current.ToString());
        return tokens;
    }

    /// <summary>
    /// Lower-case Latin letters with diacritics and their base letter: those whose Unicode decomposition is a letter and
    /// combining marks (the letters FTS5's remove_diacritics folds). A table, because the server runs with invariant
    /// globalization, where string.Normalize cannot decompose.
    /// </summary>
    private static readonly Dictionary<char, char> Folded = FoldTable(
        "àáâãäåçèéêëìíîïñòóôõöùúûüýÿāăąćĉċčďēĕėęěĝğġģĥĩīĭįĵķĺļľńņňōŏőŕŗřśŝşšţťũūŭůűųŵŷźżžơưǎǐǒǔǖǘǚǜǟǡǧǩǫǭǰǵǹǻȁȃȅȇȉȋȍȏȑȓȕȗșțȟȧȩȫȭȯȱȳḁḃḅḇḉḋḍḏḑḓḕḗḙḛḝḟḡḣḥḧḩḫḭḯḱḳḵḷḹḻḽḿṁṃṅṇṉṋṍṏṑṓṕṗṙṛṝṟṡṣṥṧṩṫṭṯṱṳṵṷṹṻṽṿẁẃẅẇẉẋẍẏẑẓẕẖẗẘẙạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ",
        "aaaaaaceeeeiiiinooooouuuuyyaaaccccdeeeeegggghiiiijklllnnnooorrrssssttuuuuuuwyzzzouaiouuuuuaagkoojgnaaaeeiioorruusthaeooooyabbbcdddddeeeeefghhhhhiikkkllllmmmnnnnoooopprrrrsssssttttuuuuuvvwwwwwxxyzzzhtwyaaaaaaaaaaaaeeeeeeeeiioooooooooooouuuuuuuyyyy");

    private static Dictionary<char, char> FoldTable(string from, string to) =>
        from.Select((ch, i) => (ch, to[i])).ToDictionary(p => p.ch, p => p.Item2);

    /// <summary>
    /// The searchable form of a text: its tokens between single spaces, with a space before and after, so "a word
    /// that begins with w" is the substring " w" and a phrase is " w1 w2" (how the Cosmos store matches).
    /// </summary>
    public static string Normalized(string text)
    {
        var tokens = Tokens(text);
        return tokens.Count == 0 ? " " : " " + string.Join(' ', tokens) + " ";
    }

    /// <summary>The substring of <see cref="Normalized"/> text that a word or phrase matches.</summary>
    public static string Needle(IReadOnlyList<string> phrase) => " " + string.Join(' ', phrase);

    /// <summary>Whether normalised text matches the terms (the stores' semantics, for stores that match in memory).</summary>
    public static bool Matches(TextTerms terms, string normalized)
    {
        if (terms.IsEmpty) return false;
        var positive = terms.Phrases.Count > 0
            ? terms.Phrases.All(p => normalized.Contains(Needle(p), StringComparison.Ordinal))
            : terms.Words.Any(p => normalized.Contains(Needle(p), StringComparison.Ordinal));
        return positive && !terms.Excluded.Any(p => normalized.Contains(Needle(p), StringComparison.Ordinal));
    }

    /// <summary>
    /// Relevance of a text for the terms, the same on every store: how many of its words a search word begins
    /// (each phrase counts its occurrences), damped by the text's length so that a short title naming the
    /// word outranks a long note that mentions it once.
    /// </summary>
    public static double Score(TextTerms terms, string? text)
    {
        if (string.IsNullOrEmpty(text)) return 0;
        var normalized = Normalized(text);
        var length = Math.Max(1, normalized.Count(c => c == ' ') - 1);
        double hits = 0;
        foreach (var phrase in terms.Words.Concat(terms.Phrases))
        {
            var needle = Needle(phrase);
            for (var at = normalized.IndexOf(needle, StringComparison.Ordinal); at >= 0; at = normalized.IndexOf(needle, at + 1, StringComparison.Ordinal))
                hits++;
        }
        return Math.Round(hits / Math.Sqrt(length), 6);
    }

    /// <summary>Every text constraint in a tree, with the class it applies to (sub-queries name their own class).</summary>
    public static IEnumerable<(string ClassName, TextNode Node)> Find(QueryNode node, string className) => node switch
    {
        TextNode t => [(className, t)],
        AndNode a => a.Children.SelectMany(c => Find(c, className)),
        OrNode o => o.Children.SelectMany(c => Find(c, className)),
        NotNode n => Find(n.Child, className),
        InQueryNode q => Find(q.Where, q.ClassName),
        SelectNode s => Find(s.Where, s.ClassName),
        _ => [],
    };

    /// <summary>The text constraints of the queried class itself (those that rank its objects), not of sub-queries.</summary>
    public static List<TextNode> Ranking(QueryNode node) => node switch
    {
        TextNode t => [t],
        AndNode a => [.. a.Children.SelectMany(Ranking)],
        OrNode o => [.. o.Children.SelectMany(Ranking)],
        _ => [],
    };

    /// <summary>The relevance of an object: the sum over the ranking constraints.</summary>
    public static double Score(IReadOnlyList<TextNode> ranking, Func<string, string?> fieldText) =>
        ranking.Sum(t => Score(t.Terms, fieldText(t.Field.Name)));
}
