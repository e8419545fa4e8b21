using System.Text.Json.Nodes;
using Crm.Functions.Crm;
using Microsoft.Extensions.DependencyInjection;

namespace Crm.Functions.Tests.CrmTemplate;

/// <summary>
/// The demo data reads like a sales team's: no filler text, contacts' addresses at their company's domain, closed deals
/// in the past; and a seed always makes the same data.
/// </summary>
public sealed class DemoDataTests
{
    private static readonly string[] Filler = ["lorem", "ipsum", "dolor", "consectetur", "tasty", "frozen", "cheese"];

    private static async Task<JsonObject> SeededAsync(int seed)
    {
        using var server = Tools.TemplateServer();
        await server.Services.GetRequiredService<DemoData>().SeedAsync(seed, "Managers", CancellationToken.None);
        using var master = server.Client().AsMaster();
        var found = new JsonObject();
        foreach (var className in new[] { "Company", "Contact", "Deal", "Activity" })
            found[className] = (await master.QueryAsync(className, extra: "limit=1000&order=createdAt")).Results.DeepClone();
        return found;
    }

    private static IEnumerable<string> Texts(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => [s],
        JsonObject o => o.Where(p => p.Key is not ("objectId" or "ACL" or "createdAt" or "updatedAt")).SelectMany(p => Texts(p.Value)),
        JsonArray a => a.SelectMany(Texts),
        _ => [],
    };

    [Fact]
    public async Task demo_data_reads_like_a_sales_teams_and_a_seed_makes_the_same_data()
    {
        var first = await SeededAsync(20261207);
        var again = await SeededAsync(20261207);
        var other = await SeededAsync(7);

        // The same seed, the same records (ids and dates of creation aside; compared as sets, since records made in
        // the same millisecond have no defined order).
        string Shape(JsonObject data, string className, params string[] fields) => string.Join('\n',
            data[className]!.AsArray().Select(o => string.Join('|', fields.Select(f => o![f]?.ToJsonString()))).Order(StringComparer.Ordinal));
        Assert.Equal(Shape(first, "Company", "name", "industry", "website"), Shape(again, "Company", "name", "industry", "website"));
        Assert.Equal(Shape(first, "Deal", "title", "amount", "stage"), Shape(again, "Deal", "title", "amount", "stage"));
        Assert.Equal(Shape(first, "Contact", "name", "email"), Shape(again, "Contact", "name", "email"));
        Assert.NotEqual(Shape(first, "Deal", "title", "amount"), Shape(other, "Deal", "title", "amount"));

        foreach (var text in Texts(first))
            Assert.DoesNotContain(Filler, word => text.Contains(word, StringComparison.OrdinalIgnoreCase));

        var companies = first["Company"]!.AsArray().ToDictionary(c => c!["objectId"]!.GetValue<string>(), c => c!);
        Assert.Equal(6, companies.Count);
        foreach (var contact in first["Contact"]!.AsArray())
        {
            var company = companies[contact!["company"]!["objectId"]!.GetValue<string>()];
            var domain = new Uri(company["website"]!.GetValue<string>()).Host.Replace("www.", "", StringComparison.Ordinal);
            Assert.EndsWith("@" + domain, contact["email"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        var now = DateTimeOffset.UtcNow;
        var deals = first["Deal"]!.AsArray();
        foreach (var deal in deals)
        {
            var close = DateTimeOffset.Parse(deal!["expectedCloseDate"]!["iso"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
            if (deal["stage"]!.GetValue<string>() is "won" or "lost") Assert.True(close < now, $"closed deal {deal["title"]} closes in the future");
            Assert.True(deal["amount"]!.GetValue<double>() >= 1_000);
        }
        Assert.True(deals.Select(d => d!["stage"]!.GetValue<string>()).Distinct().Count() == 6, "every stage has deals");
        Assert.All(first["Activity"]!.AsArray(), a => Assert.False(string.IsNullOrWhiteSpace(a!["subject"]?.GetValue<string>())));
    }
}
