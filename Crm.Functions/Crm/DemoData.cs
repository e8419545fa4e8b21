using System.Text.Json.Nodes;
using Bogus;
using Crm.Functions.Core;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Users;

namespace Crm.Functions.Crm;

/// <summary>
/// Demo data that reads like a sales team's (curated companies, roles, deal names and call notes, names and phone
/// numbers from Bogus; seeded, so a seed always makes the same data) created through the core exactly as
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
        // Each run draws six different companies from the list, in a seeded order.
        var picked = faker.Random.Shuffle(Companies).Take(6).ToList();
        for (var c = 0; c < picked.Count; c++)
        {
            var owner = sales[c % sales.Count];
            var (companyName, industry, domain) = picked[c];
            var company = await CreateAsync(owner, "Company", new JsonObject
            {
                ["name"] = companyName,
                ["website"] = "https://www." + domain,
                ["industry"] = industry,
                ["address"] = faker.Address.FullAddress(),
                ["notes"] = faker.PickRandom(CompanyNotes),
            }, ct);
            companies++;

            var people = new List<(string Id, string First)>();
            foreach (var title in faker.Random.Shuffle(JobTitles).Take(faker.Random.Int(2, 3)))
            {
                var first = faker.Name.FirstName();
                var last = faker.Name.LastName();
                var id = await CreateAsync(owner, "Contact", new JsonObject
                {
                    ["name"] = $"{first} {last}",
                    ["email"] = $"{Slug(first)}.{Slug(last)}@{domain}",
                    ["phone"] = faker.Phone.PhoneNumber("+1 ###-###-####"),
                    ["company"] = CrmRules.Pointer("Company", company),
                    ["notes"] = title,
                }, ct);
                people.Add((id, first));
                contacts++;
            }
            activities += await LogActivitiesAsync(faker, owner, "Contact", people[0].Id, people[0].First, "Open", now, 1, ct);

            // Two deals per company, walking through the stages so every stage has deals.
            for (var d = 0; d < 2; d++)
            {
                var stage = CrmTemplate.PipelineStages[stageIndex++ % CrmTemplate.PipelineStages.Count];
                var assignee = faker.Random.Bool(0.7f) ? owner : sales[(c + 1) % sales.Count];
                var contact = faker.PickRandom(people);
                var deal = await CreateAsync(owner, "Deal", new JsonObject
                {
                    ["title"] = $"{companyName.Split(' ')[0]} – {DealTitle(faker)}",
                    ["amount"] = Amount(faker),
                    ["stage"] = stage,
                    ["contact"] = CrmRules.Pointer("Contact", contact.Id),
                    ["company"] = CrmRules.Pointer("Company", company),
                    ["expectedCloseDate"] = Date(now.AddDays(CloseInDays(faker, stage))),
                    ["notes"] = faker.PickRandom(DealNotes),
                    ["assignedTo"] = CrmRules.Pointer("_User", assignee.UserId!),
                }, ct);
                deals++;
                activities += await LogActivitiesAsync(faker, owner, "Deal", deal, contact.First, stage, now, faker.Random.Int(1, 2), ct);
            }
        }
        return new Result(false, sales.Count + 1, companies, contacts, deals, activities);
    }

    // What a sales team's CRM holds: plausible companies, roles, deal names, call notes — no filler text.
    private static readonly (string Name, string Industry, string Domain)[] Companies =
    [
        ("Northwind Logistics", "Logistics", "northwind-logistics.com"), ("Bluefin Analytics", "Software", "bluefin-analytics.io"),
        ("Harbor Health Clinics", "Healthcare", "harborhealth.org"), ("Crescent Foods", "Food & beverage", "crescentfoods.com"),
        ("Summit Outdoor Gear", "Retail", "summitoutdoor.com"), ("Ironclad Manufacturing", "Manufacturing", "ironclad-mfg.com"),
        ("Meridian Credit Union", "Financial services", "meridiancu.org"), ("Oakridge Academy", "Education", "oakridge-academy.edu"),
        ("Vantage Property Group", "Real estate", "vantagepg.com"), ("Pinecrest Hotels", "Hospitality", "pinecresthotels.com"),
        ("Atlas Freight Partners", "Logistics", "atlasfreight.com"), ("Greenline Energy", "Energy", "greenline-energy.com"),
    ];

    private static readonly string[] JobTitles =
    [
        "Head of Operations", "IT Director", "Procurement Manager", "Chief Financial Officer", "VP of Sales",
        "Office Manager", "Head of Customer Success", "Operations Analyst",
    ];

    private static readonly string[] CompanyNotes =
    [
        "Referred by a customer at last spring's trade show.", "Renewal cycle runs with their fiscal year (July).",
        "Uses a competitor for half of their sites; open to consolidating.", "Procurement needs three quotes for anything over 25k.",
        "Expanding into two new regions next year.", "Security review required before any pilot.",
    ];

    private static readonly string[] DealProducts =
    [
        "annual subscription renewal", "expansion to the west coast sites", "pilot for the analytics add-on", "onboarding and training package",
        "three-year licence", "premium support upgrade", "data migration project", "new warehouse rollout",
    ];

    private static readonly string[] DealNotes =
    [
        "Budget confirmed; waiting on legal review.", "Champion is keen, economic buyer not yet engaged.",
        "Competing against an incumbent on price.", "Needs SSO and an audit log before signing.",
        "Timeline depends on their board meeting.", "Asked for a case study from a similar customer.",
    ];

    /// <summary>Subjects by activity type; {0} is the contact's first name.</summary>
    private static readonly Dictionary<string, string[]> Subjects = new(StringComparer.Ordinal)
    {
        ["call"] = ["Discovery call with {0}", "Follow-up call on pricing with {0}", "Check-in call with {0}"],
        ["email"] = ["Sent the proposal to {0}", "Recap email after the demo", "Shared the security questionnaire with {0}"],
        ["meeting"] = ["Product demo with {0}'s team", "On-site visit", "Quarterly business review"],
        ["note"] = ["{0} asked for a reference customer", "Budget holder is the CFO", "Decision expected after the board meeting"],
    };

    private static readonly string[] CallNotes =
    [
        "Walked through the current process; the main pain is manual reporting at month end.",
        "They want to start with two teams and expand if adoption is good.",
        "Pricing is within budget if we include onboarding; asked for a revised quote.",
        "Legal will review our standard terms this week.",
        "Agreed next steps: technical deep dive with their IT lead.",
        "Concerned about migration effort; offered a migration plan and timeline.",
    ];

    private static string DealTitle(Faker faker)
    {
        var product = faker.PickRandom(DealProducts);
        return faker.Random.Bool(0.35f) ? $"{faker.Random.Int(2, 30) * 5} seats, {product}" : char.ToUpperInvariant(product[0]) + product[1..];
    }

    /// <summary>Log-normal around 25,000 (most deals 8k–80k, a few large ones), rounded to 500.</summary>
    private static double Amount(Faker faker)
    {
        var normal = Math.Sqrt(-2 * Math.Log(1 - faker.Random.Double())) * Math.Cos(2 * Math.PI * faker.Random.Double());
        return Math.Max(1_000, Math.Round(25_000 * Math.Exp(0.8 * normal) / 500) * 500);
    }

    /// <summary>Won and lost deals closed in the past; open ones close ahead, a few already overdue.</summary>
    private static int CloseInDays(Faker faker, string stage) => stage is "won" or "lost"
        ? -faker.Random.Int(5, 150)
        : faker.Random.Bool(0.15f) ? -faker.Random.Int(1, 10) : faker.Random.Int(5, 120);

    private static string Slug(string name) => new([.. name.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit)]);

    private async Task<int> LogActivitiesAsync(Faker faker, Auth owner, string className, string id, string firstName, string stage, DateTimeOffset now,
        int count, CancellationToken ct)
    {
        for (var i = 0; i < count; i++)
        {
            // Closed deals' activities are in the past; open ones have some due soon.
            var due = now.AddDays(stage is "won" or "lost" ? -faker.Random.Int(3, 60) : faker.Random.Int(-14, 21));
            var type = faker.PickRandom(CrmTemplate.ActivityTypes.ToArray());
            var activity = new JsonObject
            {
                ["type"] = type,
                ["subject"] = string.Format(System.Globalization.CultureInfo.InvariantCulture, faker.PickRandom(Subjects.GetValueOrDefault(type) ?? Subjects["note"]), firstName),
                ["description"] = faker.PickRandom(CallNotes),
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
