using Microsoft.Azure.Cosmos;

namespace Crm.Functions.Storage.Cosmos;

/// <summary>
/// A test-only seam: registered in DI by the test host (never by configuration), it adjusts the client options,
/// e.g. to trust the local API server's certificate or to route requests through a handler. Production code
/// paths cannot turn certificate checks off.
/// </summary>
internal sealed class CosmosClientHooks(Action<CosmosClientOptions> configure, bool replaceIndexingPolicy = true)
{
    public void Configure(CosmosClientOptions options) => configure(options);

    /// <summary>
    /// False for the local API server, which drops a container's items when the container is replaced; Azure
    /// re-indexes online. Without the replace, orderings needing a later-declared composite index take the
    /// store's in-memory fallback there.
    /// </summary>
    public bool ReplaceIndexingPolicy { get; } = replaceIndexingPolicy;
}
