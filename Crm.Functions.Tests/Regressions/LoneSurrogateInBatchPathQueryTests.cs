using System.Net;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// A batch sub-request's path may carry a query string; it was parsed by a copy of the query reader that did not
/// refuse lone surrogates, so <c>{"title":"\ud800"}</c> there failed where the same text in a URL is a 107.
/// </summary>
public sealed class LoneSurrogateInBatchPathQueryTests(FastServerFixture fixture) : IClassFixture<FastServerFixture>
{
    [Fact]
    public async Task a_batch_path_query_with_an_escaped_lone_surrogate_refuses_the_batch_with_107()
    {
        using var client = fixture.Server.Client().AsMaster();
        var className = Wire.Unique("Lone");
        var where = Uri.EscapeDataString("""{"title":"\ud800"}""");

        var response = await client.BatchAsync([("GET", $"classes/{className}?where={where}", null)]);

        // Like an unroutable path, a sub-request that cannot be read refuses the whole batch before anything runs.
        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal(107, response.Code);
    }
}
