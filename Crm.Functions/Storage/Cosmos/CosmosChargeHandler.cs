using Crm.Functions.Core.Telemetry;
using Microsoft.Azure.Cosmos;

namespace Crm.Functions.Storage.Cosmos;

/// <summary>
/// Sees every Cosmos DB response in the client's pipeline and counts its request charge (RU) and status against
/// the store operation it belongs to: one place, so no call site can forget to.
/// </summary>
internal sealed class CosmosChargeHandler : RequestHandler
{
    public override async Task<ResponseMessage> SendAsync(RequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        CrmTelemetry.RecordCosmosCharge(response.Headers.RequestCharge, (int)response.StatusCode);
        return response;
    }
}
