using System.Net;
using Crm.Functions.Tests.Infrastructure;
using Crm.Functions.Tests.Reliability;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Issue 17 item 13: a GraphQL document nested deeper than the parser's 128 levels answered code 1 (internal
/// error) and logged the whole query at Error. It is the caller's mistake: a 400 with Parse code 107, and no
/// Error log (which would let anyone fill the logs with their text).
/// </summary>
public sealed class DeepGraphQLInputTests
{
    [Fact]
    public async Task input_nested_past_the_parser_limit_is_a_bad_request_and_is_not_logged_as_an_error()
    {
        var logs = new CapturingLoggerProvider();
        using var server = new CrmServer(null, services => services.AddSingleton<ILoggerProvider>(logs));
        using var client = new GraphQLClient(server);
        const string Marker = "deeply_nested_marker";
        var query = "{ deals(where: " + string.Concat(Enumerable.Repeat("{AND: [", 140)) + "{title: {equalTo: \"" + Marker + "\"}}"
                    + string.Concat(Enumerable.Repeat("]}", 140)) + ") { count } }";

        var response = await client.SendAsync(query);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal(107, response.Errors![0]!["extensions"]!["code"]!.GetValue<int>());
        Assert.DoesNotContain(logs.Text.Split('\n'), line => line.StartsWith("Error", StringComparison.Ordinal) || line.StartsWith("Critical", StringComparison.Ordinal));
        Assert.Equal("Query", (await client.SendAsync("{ __typename }")).Ok()["__typename"]!.GetValue<string>());
    }
}
