using Crm.Functions.Core.Schema;
using GraphQL.Types;

namespace Crm.Functions.GraphQL;

/// <summary>
/// The current GraphQL schema, regenerated after any class-schema change (a field added through /schemas
/// appears on the next request, without a restart). Rebuilt lazily, once per version, under a lock, so a
/// burst of schema changes costs one build.
/// </summary>
internal sealed class GraphQLSchemaProvider : IDisposable
{
    private readonly SchemaService _schemas;
    private readonly ILogger<GraphQLSchemaProvider> _log;
    private readonly Lock _lock = new();
    private volatile Built? _current;
    private ISchema? _lastGood;

    private sealed record Built(long Version, ISchema Schema);

    public GraphQLSchemaProvider(SchemaService schemas, ILogger<GraphQLSchemaProvider> log)
    {
        _schemas = schemas;
        _log = log;
        _schemas.Changed += Invalidate;
    }

    public ISchema Current
    {
        get
        {
            var version = _schemas.Version;
            if (_current is { } built && built.Version == version) return built.Schema;
            lock (_lock)
            {
                if (_current is { } again && again.Version == version) return again.Schema;
                try
                {
                    var schema = SchemaFactory.Build(_schemas.All, _log);
                    schema.Initialize();
                    _current = new Built(version, schema);
                    _lastGood = schema;
                    return schema;
                }
                catch (Exception e) when (_lastGood is not null)
                {
                    // A class schema GraphQL cannot express must not take the whole endpoint down: keep serving the last good schema.
                    _log.LogError(e, "The GraphQL schema could not be regenerated for schema version {Version}; serving the previous one.", version);
                    _current = new Built(version, _lastGood);
                    return _lastGood;
                }
            }
        }
    }

    private void Invalidate() => _current = null;

    public void Dispose() => _schemas.Changed -= Invalidate;
}
