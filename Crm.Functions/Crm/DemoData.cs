using System.Text.Json.Nodes;
using Bogus;
using Crm.Functions.Core;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Users;

namespace Crm.Functions.Crm;

/// <summary>
/// Realistic fake data (Bogus, seeded so every run makes the same data) created through the core exactly as
/// clients would: users sign up, then each user creates its own records with its own auth, so createdBy,
/// ACLs, stage and relatedTo rules apply to the demo data too.
/// </summary>
internal sealed class DemoData(DataService data, UserService users, TimeProvider time)
{
    public const string Password = "demo-password";
    public static readonly string[] SalesUsers = ["alice", "bob"];
    public const string Manager = "carol";

    public sealed record Result(bool AlreadyPresent, int Users, int Companies, int Contacts, int Deals, int Activities);

    public async Task<Result> SeedAsync(int seed, string? managersRole, CancellationToken ct)
    {
        var existing = await data.FindAsync(Auth.Master, "_User", new FindRequest { Where = new JsonObject { ["username"] = SalesUsers[0] }, Limit = 1 }, ct);
        if (existing.Results.Count > 0) return new Result(true, 0, 0, 0, 0, 0);

        var faker = new Faker("en") { Random = new Randomizer(seed) };
        var now = time.GetUtcNow();

        var sales = new List<Auth>();
        foreach (var name in SalesUsers) sales.Add(await SignUpAsync(name, ct));
        var manager = await SignUpAsync(Manager, ct);
        if (!string.IsNullOrWhiteSpace(managersRole)) await JoinRoleAsync(managersRole.Trim(), manager.UserId!, ct);

        int companies = 0, contacts = 0, deals = 0, activities = 0;
        var stageIndex = 0;
        for (var c = 0; c < 6; c++)
        {
            var owner = sales[c % sales.Count];
            var companyName = faker.Company.CompanyName();
            var company = await CreateAsync(owner, "Company", new JsonObject
            {
                ["name"] = companyName,
                ["website"] = "https://" + faker.Internet.DomainName(),
                ["industry"] = faker.Commerce.Department(1),
                ["address"] = faker.Address.FullAddress(),
                ["notes"] = faker.Company.CatchPhrase(),
            }, ct);
            companies++;

            var people = new List<string>();
            for (var p = 0; p < faker.Random.Int(2, 3); p++)
            {
                var first = faker.Name.FirstName();
                var last = faker.Name.LastName();
                people.Add(await CreateAsync(owner, "Contact", new JsonObject
                {
                    ["name"] = $"{first} {last}",
                    ["email"] = faker.Internet.Email(first, last),
                    ["phone"] = faker.Phone.PhoneNumber(),
                    ["company"] = CrmRules.Pointer("Company", company),
                    ["notes"] = faker.Lorem.Sentence(),
                }, ct));
                contacts++;
            }
            activities += await LogActivitiesAsync(faker, owner, "Contact", people[0], now, 1, ct);

            // Two deals per company, walking through the stages so every stage has deals.
            for (var d = 0; d < 2; d++)
            {
                var stage = CrmTemplate.PipelineStages[stageIndex++ % CrmTemplate.PipelineStages.Count];
                var assignee = faker.Random.Bool(0.7f) ? owner : sales[(c + 1) % sales.Count];
                var deal = await CreateAsync(owner, "Deal", new JsonObject
                {
                    ["title"] = $"{companyName}: {faker.Commerce.ProductName()}",
                    ["amount"] = Math.Round(faker.Random.Double(2_000, 120_000) / 100) * 100,
                    ["stage"] = stage,
                    ["contact"] = CrmRules.Pointer("Contact", faker.PickRandom(people)),
                    ["company"] = CrmRules.Pointer("Company", company),
                    ["expectedCloseDate"] = Date(now.AddDays(faker.Random.Int(-30, 120))),
                    ["notes"] = faker.Lorem.Sentence(),
                    ["assignedTo"] = CrmRules.Pointer("_User", assignee.UserId!),
                }, ct);
                deals++;
                activities += await LogActivitiesAsync(faker, owner, "Deal", deal, now, faker.Random.Int(1, 2), ct);
            }
        }
        return new Result(false, sales.Count + 1, companies, contacts, deals, activities);
    }

    private async Task<int> LogActivitiesAsync(Faker faker, Auth owner, string className, string id, DateTimeOffset now, int count, CancellationToken ct)
    {
        for (var i = 0; i < count; i++)
        {
            var due = now.AddDays(faker.Random.Int(-14, 21));
            var activity = new JsonObject
            {
                ["type"] = faker.PickRandom(CrmTemplate.ActivityTypes.ToArray()),
                ["subject"] = faker.Hacker.Phrase(),
                ["description"] = faker.Lorem.Paragraph(),
                ["dueDate"] = Date(due),
                ["relatedTo"] = CrmRules.Pointer(className, id),
            };
            if (due < now) activity["completedAt"] = Date(due.AddHours(faker.Random.Int(1, 48)));
            await CreateAsync(owner, "Activity", activity, ct);
        }
        return count;
    }

    private async Task<Auth> SignUpAsync(string username, CancellationToken ct)
    {
        var created = await data.CreateAsync(Auth.Anonymous, "_User", new JsonObject
        {
            ["username"] = username,
            ["email"] = $"{username}@example.com",
            ["password"] = Password,
        }, ct);
        return await users.AuthForUserAsync(created.Object.ObjectId, null, null, ct);
    }

    private async Task JoinRoleAsync(string role, string userId, CancellationToken ct)
    {
        var found = await data.FindAsync(Auth.Master, "_Role", new FindRequest { Where = new JsonObject { ["name"] = role }, Limit = 1 }, ct);
        if (found.Results.Count == 0) return;
        await data.UpdateAsync(Auth.Master, "_Role", found.Results[0]["objectId"]!.GetValue<string>(), new JsonObject
        {
            ["users"] = new JsonObject { ["__op"] = "AddRelation", ["objects"] = new JsonArray(CrmRules.Pointer("_User", userId)) },
        }, ct);
    }

    private async Task<string> CreateAsync(Auth auth, string className, JsonObject body, CancellationToken ct) =>
        (await data.CreateAsync(auth, className, body, ct)).Object.ObjectId;

    private static JsonObject Date(DateTimeOffset value) => new() { ["__type"] = "Date", ["iso"] = ParseDates.Format(value) };
}
