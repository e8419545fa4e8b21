using Crm.Functions.Core.Query;

namespace Crm.Functions.Tests.Search;

/// <summary>The term grammar and the searchable form both stores match against.</summary>
public sealed class TextTermsTests
{
    [Theory]
    [InlineData("Café Olé contract", " cafe ole contract ")]
    [InlineData("ACME-Renewal (2026)", " acme renewal 2026 ")]
    [InlineData("  ", " ")]
    [InlineData("Ünïcödé naïve façade", " unicode naive facade ")]
    public void text_is_kept_as_lower_case_words_without_diacritics(string text, string normalized) =>
        Assert.Equal(normalized, TextSearch.Normalized(text));

    [Fact]
    public void a_term_splits_into_words_phrases_and_exclusions()
    {
        var terms = TextSearch.ParseTerm("acme \"big deal\" -lost -\"old contract\" e-mail acme");
        Assert.Equal(["acme", "e mail"], terms.Words.Select(w => string.Join(' ', w)));
        Assert.Equal(["big deal"], terms.Phrases.Select(w => string.Join(' ', w)));
        Assert.Equal(["lost", "old contract"], terms.Excluded.Select(w => string.Join(' ', w)));
    }

    [Fact]
    public void matching_and_scoring_follow_the_terms()
    {
        var terms = TextSearch.ParseTerm("renew -lost");
        Assert.True(TextSearch.Matches(terms, TextSearch.Normalized("Renewal for Acme")));
        Assert.False(TextSearch.Matches(terms, TextSearch.Normalized("Renewal lost")));
        Assert.False(TextSearch.Matches(terms, TextSearch.Normalized("prerenewal")));
        Assert.True(TextSearch.Score(terms, "renewal renewal") > TextSearch.Score(terms, "renewal of a very long contract"));
        Assert.Equal(0, TextSearch.Score(terms, null));
    }
}
