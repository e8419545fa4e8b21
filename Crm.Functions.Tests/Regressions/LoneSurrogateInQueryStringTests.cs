using System.Net;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// A <c>where</c> in the URL holding the JSON escape of half a surrogate pair (<c>"\ud800"</c>) cannot be turned into
/// text; it answered 500 instead of Parse's invalid-JSON error, which the same JSON in a body already got.
/// </summary>
public sealed class LoneSurrogateInQueryStringTests(FastServerFixture fixture) : IClassFixture<FastServerFixture>
{
    [Fact]
    public async Task a_where_with_an_escaped_lone_surrogate_in_the_url_is_invalid_json_107()
    {
        using var client = fixture.Server.Client().AsMaster();
        var where = Uri.EscapeDataString("""{"title":"\ud800"}""");

        var response = await client.GetAsync($"classes/{Wire.Unique("Lone")}?where={where}");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal(107, response.Code);
    }

    [Fact]
    public async Task a_key_with_an_escaped_lone_surrogate_in_the_url_is_invalid_json_107()
    {
        using var client = fixture.Server.Client().AsMaster();
        var where = Uri.EscapeDataString("""{"\udc00":1}""");

        var response = await client.GetAsync($"classes/{Wire.Unique("Lone")}?where={where}");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal(107, response.Code);
    }
}
