using Microsoft.Azure.Cosmos;

namespace Crm.Functions.Storage.Cosmos;

/// <summary>
/// A test-only seam: registered in DI by the test host (never by configuration), it adjusts the client options,
/// e.g. to trust the local API server's certificate or to route requests through a handler. Production code
/// paths cannot turn certificate checks off.
/// </summary>
internal sealed class CosmosClientHooks(Action<CosmosClientOptions> configure)
{
    public void Configure(CosmosClientOptions options) => configure(options);
}
