using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Store;
using Crm.Functions.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Crm.Functions.Tests.GraphQL;

/// <summary>Pointer fields are loaded in one batch per class and level, never one query per object (N+1).</summary>
public sealed class GraphQLBatchingTests(ITestOutputHelper output)
{
    [Fact]
    public async Task thirty_deals_with_company_contact_and_nested_company_cost_one_find_per_class()
    {
        var counter = new CountingStore.Counts();
        using var server = new CrmServer(services: services => CountingStore.Decorate(services, counter));
        await CrmClasses.CreateAsync(server);
        var (userId, token) = await SignUpAsync(server);
        using var client = new GraphQLClient(server).WithSession(token);

        var companies = new List<string>();
        for (var i = 0; i < 3; i++)
            companies.Add((await client.SendAsync("mutation($n: String!) { createCompany(input: {fields: {name: $n}}) { company { id } } }",
                new JsonObject { ["n"] = $"Company {i}" })).Ok()["createCompany"]!["company"]!["id"]!.GetValue<string>());
        var contacts = new List<string>();
        for (var i = 0; i < 5; i++)
            contacts.Add((await client.SendAsync("mutation($n: String!, $c: ID!) { createContact(input: {fields: {name: $n, company: {link: $c}}}) { contact { id } } }",
                new JsonObject { ["n"] = $"Contact {i}", ["c"] = companies[i % 3] })).Ok()["createContact"]!["contact"]!["id"]!.GetValue<string>());
        for (var i = 0; i < 30; i++)
            (await client.SendAsync("mutation($t: String!, $c: ID!, $p: ID!, $u: ID!) { createDeal(input: {fields: {title: $t, company: {link: $c}, contact: {link: $p}, assignedTo: {link: $u}}}) { deal { id } } }",
                new JsonObject { ["t"] = $"Deal {i:00}", ["c"] = companies[i % 3], ["p"] = contacts[i % 5], ["u"] = userId })).Ok();

        counter.Reset();
        var data = (await client.SendAsync("""
            { deals(first: 30, order: [title_ASC]) { edges { node { title
                company { name }
                contact { name company { name } }
                assignedTo { username } } } } }
            """)).Ok();
        output.WriteLine($"store queries: {counter}");
        var edges = data["deals"]!["edges"]!.AsArray();
        Assert.Equal(30, edges.Count);
        Assert.All(edges, e =>
        {
            Assert.StartsWith("Company ", e!["node"]!["company"]!["name"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.StartsWith("Company ", e["node"]!["contact"]!["company"]!["name"]!.GetValue<string>(), StringComparison.Ordinal);
        });
        Assert.Equal("Contact 1", edges[1]!["node"]!["contact"]!["name"]!.GetValue<string>());

        // Deal once; Company once for deal.company (the second level, contact.company, batches again: at most twice);
        // Contact once; _User once (+ the session look-up, which may be cached).
        Assert.Equal(1, counter.Finds("Deal"));
        Assert.Equal(1, counter.Finds("Contact"));
        Assert.InRange(counter.Finds("Company"), 1, 2);
        Assert.InRange(counter.Finds("_User"), 1, 2);
        Assert.True(counter.Total <= 8, $"expected a handful of store queries, got {counter.Total}: {counter}");
    }

    private static async Task<(string UserId, string Token)> SignUpAsync(CrmServer server)
    {
        using var rest = server.Client();
        return await rest.SignUpAsync(Wire.Unique("batch"));
    }
}

/// <summary>An <see cref="IObjectStore"/> decorator counting finds per class, registered over the real store in a test's services.</summary>
internal sealed class CountingStore(IObjectStore inner, CountingStore.Counts counts) : IObjectStore
{
    public sealed class Counts
    {
        private readonly ConcurrentDictionary<string, int> _finds = new(StringComparer.Ordinal);
        public void Add(string className) => _finds.AddOrUpdate(className, 1, (_, n) => n + 1);
        public int Finds(string className) => _finds.GetValueOrDefault(className);
        public int Total => _finds.Values.Sum();
        public void Reset() => _finds.Clear();
        public override string ToString() => string.Join(", ", _finds.Select(kv => $"{kv.Key}={kv.Value}"));
    }

    public static void Decorate(IServiceCollection services, Counts counts)
    {
        var original = services.Last(d => d.ServiceType == typeof(IObjectStore));
        services.Remove(original);
        services.AddSingleton<IObjectStore>(sp => new CountingStore((IObjectStore)original.ImplementationFactory!(sp), counts));
    }

    public Task<IReadOnlyList<StoredObject>> FindAsync(StoreQuery query, CancellationToken ct)
    {
        counts.Add(query.ClassName);
        return inner.FindAsync(query, ct);
    }

    public Task<IReadOnlyList<AggregateRow>> AggregateAsync(AggregateQuery query, CancellationToken ct) => inner.AggregateAsync(query, ct);

    public Task<long> CountAsync(string className, QueryNode where, CancellationToken ct)
    {
        counts.Add(className + "(count)");
        return inner.CountAsync(className, where, ct);
    }

    public string Kind => inner.Kind;
    public bool UnitsSpanClasses => inner.UnitsSpanClasses;
    public Task InitializeAsync(CancellationToken ct) => inner.InitializeAsync(ct);
    public Task<IReadOnlyList<ClassSchema>> LoadSchemasAsync(CancellationToken ct) => inner.LoadSchemasAsync(ct);
    public Task SaveSchemaAsync(ClassSchema schema, CancellationToken ct) => inner.SaveSchemaAsync(schema, ct);
    public Task DropClassAsync(string className, CancellationToken ct) => inner.DropClassAsync(className, ct);
    public Task DeleteFieldAsync(string className, string field, bool isRelation, CancellationToken ct) => inner.DeleteFieldAsync(className, field, isRelation, ct);
    public Task InsertAsync(StoredObject obj, IReadOnlyList<RelationChange> relations, CancellationToken ct) => inner.InsertAsync(obj, relations, ct);
    public Task<StoredObject?> UpdateAsync(string className, string objectId, QueryNode restriction, Func<StoredObject, ValueTask<ObjectWrite?>> mutate, CancellationToken ct) =>
        inner.UpdateAsync(className, objectId, restriction, mutate, ct);
    public Task<StoredObject?> DeleteAsync(string className, string objectId, QueryNode restriction, CancellationToken ct) => inner.DeleteAsync(className, objectId, restriction, ct);
    public Task<IReadOnlyList<string>> RelatedIdsAsync(string ownerClass, string ownerId, string field, CancellationToken ct) => inner.RelatedIdsAsync(ownerClass, ownerId, field, ct);
    public Task PurgeAsync(string className, CancellationToken ct) => inner.PurgeAsync(className, ct);
    public Task<T> TransactionAsync<T>(Func<CancellationToken, Task<T>> work, CancellationToken ct) => inner.TransactionAsync(work, ct);
    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
