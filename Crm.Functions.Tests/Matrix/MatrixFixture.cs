using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using Crm.Functions.Tests.LiveQuery;

namespace Crm.Functions.Tests.Matrix;

/// <summary>One caller of the matrix: its session (or master) and the ACL keys it holds.</summary>
public sealed record Principal(string Name, string? UserId, string? Token, bool Master, IReadOnlyList<string> Groups)
{
    public bool CanRead(JsonObject? acl) => Master || acl is null || Groups.Any(g => acl[g]?["read"]?.GetValue<bool>() == true);
    public bool CanWrite(JsonObject? acl) => Master || acl is null || Groups.Any(g => acl[g]?["write"]?.GetValue<bool>() == true);
    public bool Holds(string key) => Groups.Contains(key);
}

/// <summary>One object of a case: its code, its ACL (null: none) and the principals its user pointers name.</summary>
public sealed record MatrixObject(string Code, JsonObject? Acl = null, string? AssignedTo = null, string? Manager = null);

/// <summary>
/// One class of the matrix: its class-level permissions, its objects, the fields it keeps secret, and the rules that
/// decide what a principal may see beyond the ACL (CLP, pointer permissions, protected fields).
/// </summary>
public sealed record MatrixCase(
    string ClassName,
    JsonObject Clp,
    IReadOnlyList<MatrixObject> Objects,
    Func<Principal, MatrixObject, bool> ClassAllows,
    Func<Principal, MatrixObject, IReadOnlyCollection<string>> HiddenFields)
{
    /// <summary>Fields that carry a value some principal must not see.</summary>
    public static readonly string[] Secrets = ["phone", "notes"];
}

/// <summary>What one principal must get of one object, whatever the door: whether it shows, and which secrets show.</summary>
public sealed record Expectation(bool Visible, IReadOnlySet<string> Shown);

/// <summary>The objects one seeding made: (class, code) → objectId, all tagged with the same run (their holders too).</summary>
public sealed record MatrixRun(string Run, IReadOnlyDictionary<(string ClassName, string Code), string> Ids);

/// <summary>
/// The one permission matrix: users and roles — owner, other, a member of Sales (users relation), a member of Leads
/// (Leads is in Sales.roles, so its members inherit role:Sales), anonymous and master — and four classes covering
/// ACLs, CLPs, pointer permissions and protected fields. <see cref="Expect"/> is the expectation table every door
/// (see <see cref="MatrixDoors"/>) is checked against.
/// </summary>
public sealed class MatrixFixture : IAsyncLifetime
{
    /// <summary>
    /// A public class with one object per matrix object, pointing at it (field <see cref="HolderField"/>) and naming its
    /// objectId in "ref", so a door finds the holder by a plain field whether or not it may read the target.
    /// </summary>
    public const string HolderClass = "MatrixHolder";

    /// <summary>A public class whose event, written last, tells a listener that every earlier event has arrived.</summary>
    public const string SentinelClass = "MatrixSentinel";

    private static readonly string[] CaseClasses = ["MatrixAcl", "MatrixClp", "MatrixPointer", "MatrixProtected"];

    public MatrixFixture()
    {
        Server = new(TestSettings.Fast(
            [("Parse:DefaultAcls:Memo", """{"$owner":{"read":true,"write":true}}"""),
             // The dashboard feed pushes only its classes; the matrix classes are among them so the feed is a door too.
             .. CaseClasses.Append(SentinelClass).Select((c, i) => ($"Realtime:FeedClasses:{i}", (string?)c)),
             // The record history is a door too: its classes are the matrix's.
             .. CaseClasses.Select((c, i) => ($"Parse:History:Classes:{i}", (string?)c)),
             // LiveQuery through Azure Web PubSub (its stand-in) is a door too.
             .. WebPubSub.Settings()]), WebPubSub.Services);
        WebPubSub.Attach(Server);
    }

    public CrmServer Server { get; }

    /// <summary>The Web PubSub stand-in and identities the server is configured with (<see cref="WebPubSubDoor"/>).</summary>
    public WebPubSubRig WebPubSub { get; } = new();

    public List<Principal> Principals { get; } = [];
    public List<MatrixCase> Cases { get; } = [];
    public Principal Owner => Principals.Single(p => p.Name == "owner");
    public Principal Other => Principals.Single(p => p.Name == "other");
    public Principal Member => Principals.Single(p => p.Name == "member");
    public Principal Inheritor => Principals.Single(p => p.Name == "inheritor");
    public Principal Anonymous => Principals.Single(p => p.Name == "anonymous");

    /// <summary>The ACL case's objects: one per kind of ACL, keyed by the "code" the objects carry.</summary>
    public MatrixCase AclCase => Cases[0];

    /// <summary>The objects seeded once for the query doors (the event doors seed their own, after listening).</summary>
    public MatrixRun Seeded { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var users = new Dictionary<string, (string Id, string Token)>();
        foreach (var name in new[] { "owner", "other", "member", "inheritor" })
        {
            using var client = Server.Client();
            users[name] = await client.SignUpAsync(Wire.Unique(name));
        }
        var sales = await Server.CreateRoleAsync("Sales", users["member"].Id);
        var leads = await Server.CreateRoleAsync("Leads", users["inheritor"].Id);
        using var master = Server.Client().AsMaster();
        (await master.PutAsync($"roles/{sales}", new JsonObject { ["roles"] = Wire.AddRelation("_Role", leads) })).EnsureStatus(HttpStatusCode.OK);

        Principals.Add(new Principal("anonymous", null, null, false, ["*"]));
        Principals.Add(new Principal("owner", users["owner"].Id, users["owner"].Token, false, ["*", users["owner"].Id]));
        Principals.Add(new Principal("other", users["other"].Id, users["other"].Token, false, ["*", users["other"].Id]));
        Principals.Add(new Principal("member", users["member"].Id, users["member"].Token, false, ["*", users["member"].Id, "role:Sales"]));
        Principals.Add(new Principal("inheritor", users["inheritor"].Id, users["inheritor"].Token, false,
            ["*", users["inheritor"].Id, "role:Leads", "role:Sales"]));
        Principals.Add(new Principal("master", null, null, true, ["*"]));

        Cases.AddRange(BuildCases());
        foreach (var c in Cases) await CreateClassAsync(c.ClassName, c.Clp);
        await CreateClassAsync(SentinelClass, Clp(read: new JsonObject { ["*"] = true }));
        var holderFields = new JsonObject { ["run"] = new JsonObject { ["type"] = "String" }, ["ref"] = new JsonObject { ["type"] = "String" } };
        foreach (var c in Cases) holderFields[HolderField(c.ClassName)] = new JsonObject { ["type"] = "Pointer", ["targetClass"] = c.ClassName };
        (await master.PostAsync($"schemas/{HolderClass}", new JsonObject
        {
            ["className"] = HolderClass, ["fields"] = holderFields, ["classLevelPermissions"] = Clp(read: new JsonObject { ["*"] = true }),
        })).EnsureStatus(HttpStatusCode.OK);
        Seeded = await SeedAsync(Wire.Unique("read"));
    }

    private static JsonObject RW => new() { ["read"] = true, ["write"] = true };

    private IEnumerable<MatrixCase> BuildCases()
    {
        var owner = Owner.UserId!;
        var other = Other.UserId!;
        static bool Anyone(Principal p, MatrixObject o) => true;
        static IReadOnlyCollection<string> NoneHidden(Principal p, MatrixObject o) => [];

        // ACLs: every kind of entry, public and private, direct and through (inherited) roles.
        yield return new MatrixCase("MatrixAcl", Clp(read: new JsonObject { ["*"] = true }),
        [
            new("none"),
            new("publicRead", new JsonObject { ["*"] = new JsonObject { ["read"] = true } }),
            new("ownerOnly", new JsonObject { [owner] = RW }),
            new("salesRead", new JsonObject { ["role:Sales"] = new JsonObject { ["read"] = true }, [owner] = RW }),
            new("salesWrite", new JsonObject { ["role:Sales"] = RW }),
            new("leadsOnly", new JsonObject { ["role:Leads"] = RW }),
            new("writeOnlyOther", new JsonObject { [other] = new JsonObject { ["write"] = true } }),
            new("empty", new JsonObject()),
        ], Anyone, NoneHidden);

        // CLP: only Sales (members and, through Leads, inheritors) may get, find or count; the ACL still applies.
        yield return new MatrixCase("MatrixClp", Clp(read: new JsonObject { ["role:Sales"] = true }),
        [
            new("open"),
            new("salesRead", new JsonObject { ["role:Sales"] = new JsonObject { ["read"] = true } }),
            new("ownerOnly", new JsonObject { [owner] = RW }),
        ], (p, _) => p.Holds("role:Sales"), NoneHidden);

        // Pointer permissions: nobody reads by CLP, a user reads what assignedTo names it in; the ACL still applies.
        var pointerClp = Clp(read: new JsonObject());
        pointerClp["readUserFields"] = new JsonArray("assignedTo");
        yield return new MatrixCase("MatrixPointer", pointerClp,
        [
            new("toOwner", AssignedTo: "owner"),
            new("toOther", AssignedTo: "other"),
            new("toMember", AssignedTo: "member"),
            new("unassigned"),
            new("toOwnerLocked", new JsonObject(), AssignedTo: "owner"),
        ], (p, o) => o.AssignedTo == p.Name, NoneHidden);

        // Protected fields: hidden from everyone, shown to Sales; the manager of an object sees its phone but not its notes.
        var protectedClp = Clp(read: new JsonObject { ["*"] = true });
        protectedClp["protectedFields"] = new JsonObject
        {
            ["*"] = new JsonArray("phone", "notes"),
            ["role:Sales"] = new JsonArray(),
            ["userField:manager"] = new JsonArray("notes"),
        };
        yield return new MatrixCase("MatrixProtected", protectedClp,
        [
            new("managedByOwner", Manager: "owner"),
            new("unmanaged"),
        ], Anyone, (p, o) => p.Holds("role:Sales") ? [] : o.Manager == p.Name ? ["notes"] : MatrixCase.Secrets);
    }

    /// <summary>The field of <see cref="HolderClass"/> that points at objects of a case's class: matrixAcl, ….</summary>
    public static string HolderField(string className) => char.ToLowerInvariant(className[0]) + className[1..];

    /// <summary>The expectation table: the one answer every door must give for this principal and object.</summary>
    public static Expectation Expect(Principal p, MatrixCase c, MatrixObject o)
    {
        var visible = p.Master || (p.CanRead(o.Acl) && c.ClassAllows(p, o));
        var hidden = p.Master ? [] : c.HiddenFields(p, o);
        return new Expectation(visible, MatrixCase.Secrets.Except(hidden).ToHashSet(StringComparer.Ordinal));
    }

    /// <summary>CLP with the given get/find/count rule; writes and new fields are for the master key only.</summary>
    private static JsonObject Clp(JsonObject read) => new()
    {
        ["get"] = read.DeepClone(), ["find"] = read.DeepClone(), ["count"] = read.DeepClone(),
        ["create"] = new JsonObject(), ["update"] = new JsonObject(), ["delete"] = new JsonObject(), ["addField"] = new JsonObject(),
    };

    private async Task CreateClassAsync(string className, JsonObject clp)
    {
        using var master = Server.Client().AsMaster();
        var fields = new JsonObject
        {
            ["code"] = new JsonObject { ["type"] = "String" },
            ["run"] = new JsonObject { ["type"] = "String" },
            ["step"] = new JsonObject { ["type"] = "String" },
            ["phone"] = new JsonObject { ["type"] = "String" },
            ["notes"] = new JsonObject { ["type"] = "String" },
            ["assignedTo"] = new JsonObject { ["type"] = "Pointer", ["targetClass"] = "_User" },
            ["manager"] = new JsonObject { ["type"] = "Pointer", ["targetClass"] = "_User" },
        };
        (await master.PostAsync($"schemas/{className}", new JsonObject { ["className"] = className, ["fields"] = fields, ["classLevelPermissions"] = clp }))
            .EnsureStatus(HttpStatusCode.OK);
    }

    private string UserIdOf(string principal) => Principals.Single(p => p.Name == principal).UserId!;

    /// <summary>Creates every object of every case (master key), tagged with <paramref name="run"/>.</summary>
    public async Task<MatrixRun> SeedAsync(string run)
    {
        using var master = Server.Client().AsMaster();
        var ids = new Dictionary<(string, string), string>();
        foreach (var c in Cases)
            foreach (var o in c.Objects)
            {
                var body = new JsonObject { ["code"] = o.Code, ["run"] = run, ["phone"] = "555-" + o.Code, ["notes"] = "notes of " + o.Code };
                if (o.Acl is not null) body["ACL"] = o.Acl.DeepClone();
                if (o.AssignedTo is not null) body["assignedTo"] = Wire.PointerTo("_User", UserIdOf(o.AssignedTo));
                if (o.Manager is not null) body["manager"] = Wire.PointerTo("_User", UserIdOf(o.Manager));
                var id = ids[(c.ClassName, o.Code)] = await master.CreateAsync(c.ClassName, body);
                await master.CreateAsync(HolderClass, new JsonObject { ["run"] = run, ["ref"] = id, [HolderField(c.ClassName)] = Wire.PointerTo(c.ClassName, id) });
            }
        return new MatrixRun(run, ids);
    }

    /// <summary>
    /// The ACL the second update gives an object: in the ACL case the next kind's (so every principal gains some objects
    /// and loses others: real time's enter and leave), elsewhere its own. No ACL becomes its equivalent, public read/write.
    /// </summary>
    public MatrixObject Changed(MatrixCase c, MatrixObject o)
    {
        if (c != AclCase) return o;
        var next = c.Objects[(c.Objects.ToList().IndexOf(o) + 1) % c.Objects.Count];
        return o with { Acl = next.Acl?.DeepClone().AsObject() ?? new JsonObject { ["*"] = RW } };
    }

    /// <summary>Updates every object of a run (a field no rule looks at), updates it again with its changed ACL, then deletes them all.</summary>
    public async Task UpdateThenDeleteAsync(MatrixRun seeded)
    {
        using var master = Server.Client().AsMaster();
        foreach (var ((className, _), id) in seeded.Ids)
            (await master.PutAsync($"classes/{className}/{id}", new JsonObject { ["step"] = "updated" })).EnsureStatus(HttpStatusCode.OK);
        foreach (var c in Cases)
            foreach (var o in c.Objects)
            {
                var body = new JsonObject { ["step"] = "changed" };
                if (Changed(c, o) is { Acl: { } acl } changed && changed != o) body["ACL"] = acl.DeepClone();
                (await master.PutAsync($"classes/{c.ClassName}/{seeded.Ids[(c.ClassName, o.Code)]}", body)).EnsureStatus(HttpStatusCode.OK);
            }
        foreach (var ((className, _), id) in seeded.Ids)
            (await master.DeleteAsync($"classes/{className}/{id}")).EnsureStatus(HttpStatusCode.OK);
    }

    /// <summary>Writes the run's sentinel (readable by every user); its event comes after all the run's others.</summary>
    public async Task<string> SentinelAsync(string run)
    {
        using var master = Server.Client().AsMaster();
        return await master.CreateAsync(SentinelClass, new JsonObject { ["code"] = "sentinel", ["run"] = run });
    }

    public ParseClient Client(Principal p)
    {
        var client = Server.Client().WithSession(p.Token);
        if (p.Master) client.AsMaster();
        return client;
    }

    public async Task DisposeAsync()
    {
        Server.Dispose();
        await WebPubSub.DisposeAsync();
    }
}
