using System.Net;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Found by the widened fuzz test: GraphQL <c>variables</c> repeating a key (<c>{"s":1,"s":2}</c>) made the
/// serializer throw ArgumentException, answered 500 with the exception's text. It is a malformed request: 400.
/// </summary>
public sealed class GraphQLDuplicateVariableKeysTests
{
    [Theory]
    [InlineData("GET")]
    [InlineData("POST")]
    public async Task variables_with_a_repeated_key_are_a_bad_request(string method)
    {
        using var server = new CrmServer();
        using var client = new GraphQLClient(server);
        const string Query = "query($s: String) { health }";
        const string Variables = """{"s":"a","s":"b"}""";

        var response = method == "GET"
            ? await client.GetAsync($"graphql?query={Uri.EscapeDataString(Query)}&variables={Uri.EscapeDataString(Variables)}")
            : await client.PostRawAsync($$"""{"query":"{{Query}}","variables":{{Variables}}}""", "application/json");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("BAD_REQUEST", response.Errors![0]!["extensions"]!["code"]!.GetValue<string>());
        Assert.True((await client.SendAsync("{ health }")).Ok()["health"]!.GetValue<bool>());
    }
}
