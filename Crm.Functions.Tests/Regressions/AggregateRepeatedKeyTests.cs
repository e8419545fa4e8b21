using System.Net;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Found by the fuzz test: an aggregate pipeline (or where, or stage) sent as text with a repeated key,
/// <c>pipeline={"s":1,"s":2}</c>, answered 500: the text was parsed without the duplicate-key check, and
/// System.Text.Json threw on first use. It is now refused as invalid JSON (107), like any other body.
/// </summary>
public sealed class AggregateRepeatedKeyTests(CrmServerFixture fixture) : IClassFixture<CrmServerFixture>
{
    [Theory]
    [InlineData("pipeline={\"s\":1,\"s\":2}")]
    [InlineData("pipeline=[{\"$match\":{\"a\":1,\"a\":2}}]")]
    [InlineData("distinct=name&where={\"a\":1,\"a\":2}")]
    [InlineData("$match={\"a\":1,\"a\":2}")]
    public async Task a_repeated_key_is_invalid_json_not_a_fault(string query)
    {
        using var master = fixture.Server.Client().AsMaster();
        var response = await master.GetAsync("aggregate/_User?" + string.Join('&', query.Split('&').Select(p => p[..(p.IndexOf('=') + 1)] + Uri.EscapeDataString(p[(p.IndexOf('=') + 1)..]))));
        Assert.True(response.Status is HttpStatusCode.BadRequest, $"{(int)response.Status} {response.Raw}");
        Assert.Equal(107, response.Code);
    }
}
