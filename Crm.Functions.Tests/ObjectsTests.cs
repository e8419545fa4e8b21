using System.Net;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests;

public sealed class ObjectsTests(CrmServerFixture fixture) : IClassFixture<CrmServerFixture>
{
    private CrmServer Server => fixture.Server;

    [Fact]
    public async Task create_returns_201_location_objectId_and_createdAt()
    {
        using var client = Server.Client().AsMaster();
        var response = await client.PostAsync("classes/Thing", new { title = "A", amount = 5 });
        response.EnsureStatus(HttpStatusCode.Created);
        var id = response.Json!["objectId"]!.GetValue<string>();
        Assert.Matches("^[A-Za-z0-9]{10}$", id);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", response.Json["createdAt"]!.GetValue<string>());
        Assert.Equal(2, response.Json.AsObject().Count);
        Assert.Equal($"{Server.ParseUrl}/classes/Thing/{id}", response.Location!.ToString());
    }
}
