using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.GraphQL;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Issue 17 item 2: the regex time budget was per SQL statement, so one GraphQL document of 200 aliases of a
/// catastrophic <c>matchesRegex</c> burned 49 s of CPU. Regex time is now charged to the request (the whole
/// document), and a <c>where</c> with a regex weighs on the document's complexity.
/// </summary>
public sealed class GraphQLRegexAliasAmplificationTests : IAsyncLifetime, IDisposable
{
    // A per-match timeout far above what a match takes here, and a request total far below what ten statements
    // take: only a budget shared by the whole document stops these aliases.
    private readonly CrmServer _server = new(TestSettings.Fast(
        ("Parse:Limits:RegexTimeoutMilliseconds", "5000"), ("Parse:Limits:RegexMillisecondsPerRequest", "1")));
    private string _token = "";

    public async Task InitializeAsync()
    {
        await CrmClasses.CreateAsync(_server);
        using var client = _server.Client();
        (_, _token) = await client.SignUpAsync(Wire.Unique("regex"));
        for (var i = 0; i < 3; i++) await client.CreateAsync("Deal", new JsonObject { ["title"] = new string('a', 14) + "!" });
    }

    public Task DisposeAsync() => Task.CompletedTask;
    public void Dispose() => _server.Dispose();

    private static string Aliases(int count) =>
        "{ " + string.Join(' ', Enumerable.Range(0, count).Select(i => $$$"""d{{{i}}}: deals(where: {title: {matchesRegex: "^(?=(a+)+$)"}}, first: 1) { count }""")) + " }";

    [Fact]
    public async Task aliases_of_a_catastrophic_regex_share_one_regex_budget()
    {
        using var user = new GraphQLClient(_server).WithSession(_token);
        var response = await user.SendAsync(Aliases(8));
        response.ParseError(124);

        using var rest = _server.Client();
        (await rest.GetAsync("health")).EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task a_document_of_many_regex_filters_is_refused_by_its_complexity_before_it_runs()
    {
        using var user = new GraphQLClient(_server).WithSession(_token);
        var response = await user.SendAsync(Aliases(20));
        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Null(response.Data);
        Assert.Contains("complexity", response.Errors![0]!["message"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);
    }
}
