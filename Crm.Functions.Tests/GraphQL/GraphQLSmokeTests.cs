namespace Crm.Functions.Tests.GraphQL;

public sealed class GraphQLSmokeTests(CrmGraphQLFixture fixture) : IClassFixture<CrmGraphQLFixture>
{
    [Fact]
    public async Task health_answers_true()
    {
        using var client = new GraphQLClient(fixture.Server);
        var data = (await client.SendAsync("{ health }")).Ok();
        Assert.True(data["health"]!.GetValue<bool>());
    }
}
