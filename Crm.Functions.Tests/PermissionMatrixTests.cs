using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using Crm.Functions.Tests.Matrix;
using Xunit.Abstractions;

namespace Crm.Functions.Tests;

/// <summary>
/// The permission matrix (<see cref="MatrixFixture"/>): the same principals, ACLs, CLPs, pointer permissions and
/// protected fields checked through every door of <see cref="MatrixDoors"/> — REST, /batch, GraphQL (class queries and
/// node), the SignalR feed, hub subscriptions and HTTP subscriptions — against one expectation table; then REST's own
/// operations (count, include, $inQuery, $select, $or, writes), each rule from both sides.
/// </summary>
public sealed class PermissionMatrixTests(MatrixFixture fixture, ITestOutputHelper output) : IClassFixture<MatrixFixture>
{
    private CrmServer Server => fixture.Server;
    private static JsonObject R => new() { ["read"] = true };
    private static JsonObject RW => new() { ["read"] = true, ["write"] = true };

    /// <summary>The ACL kinds of the matrix (its ACL case), keyed by the "code" the objects carry.</summary>
    private Dictionary<string, JsonObject?> AclKinds() => fixture.AclCase.Objects.ToDictionary(o => o.Code, o => o.Acl, StringComparer.Ordinal);

    /// <summary>A fresh class with one object per ACL kind (and a public Holder class pointing at each).</summary>
    private async Task<(string ClassName, Dictionary<string, string> Ids, string Holder)> SeedAsync()
    {
        using var master = Server.Client().AsMaster();
        var className = Wire.Unique("Doc");
        var holder = className + "Holder";
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (code, acl) in AclKinds())
        {
            var body = new JsonObject { ["code"] = code, ["secret"] = "s-" + code };
            if (acl is not null) body["ACL"] = acl.DeepClone();
            ids[code] = (await master.PostAsync($"classes/{className}", body)).EnsureStatus(HttpStatusCode.Created).Json!["objectId"]!.GetValue<string>();
            (await master.PostAsync($"classes/{holder}", new JsonObject { ["code"] = code, ["target"] = Wire.PointerTo(className, ids[code]) }))
                .EnsureStatus(HttpStatusCode.Created);
        }
        return (className, ids, holder);
    }

    private HashSet<string> Expected(Principal p, bool write) =>
        AclKinds().Where(k => write ? p.CanWrite(k.Value) : p.CanRead(k.Value)).Select(k => k.Key).ToHashSet(StringComparer.Ordinal);

    private static HashSet<string> Codes(IEnumerable<JsonNode?> objects) =>
        objects.Select(o => o!["code"]!.GetValue<string>()).ToHashSet(StringComparer.Ordinal);

    private static void AssertSame(List<string> mismatches) => Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));

    private static void Compare(List<string> mismatches, string door, Principal p, ISet<string> expected, ISet<string> actual)
    {
        if (expected.SetEquals(actual)) return;
        mismatches.Add($"{door} as {p.Name}: expected [{string.Join(",", expected.Order())}] got [{string.Join(",", actual.Order())}]");
    }

    private static JsonObject Where(string field, object value) => new() { [field] = JsonValue.Create(value) };

    // ---- every door against the one expectation table ---------------------------------------------------

    public static TheoryData<string> QueryDoorNames => new(MatrixDoors.QueryDoorNames);
    public static TheoryData<string> EventDoorNames => new(MatrixDoors.EventDoorNames);

    /// <summary>Whether a door's view of an object matches the expectation: shown at all, and exactly the right secrets.</summary>
    private static string? Disagreement(Expectation expected, JsonObject? view)
    {
        // Shown means the object's data shows: a bare pointer (an include of an unreadable target) shows nothing.
        if (view?["code"] is null) return expected.Visible ? "hidden, expected visible" : null;
        if (!expected.Visible) return $"visible, expected hidden: {view.ToJsonString()}";
        var shown = MatrixCase.Secrets.Where(f => view[f] is not null).ToHashSet(StringComparer.Ordinal);
        return shown.SetEquals(expected.Shown) ? null
            : $"shows [{string.Join(",", shown.Order())}], expected [{string.Join(",", expected.Shown.Order())}]";
    }

    [Theory]
    [MemberData(nameof(QueryDoorNames))]
    public async Task every_query_door_shows_each_principal_exactly_the_objects_and_fields_the_matrix_allows(string doorName)
    {
        var door = MatrixDoors.QueryDoors(fixture).Single(d => d.Name == doorName);
        var seeded = fixture.Seeded;
        var mismatches = new List<string>();
        var checks = 0;
        foreach (var p in fixture.Principals.Where(door.Serves))
            foreach (var c in fixture.Cases)
            {
                var found = await door.FindAsync(p, c.ClassName, new JsonObject { ["run"] = seeded.Run });
                var foundById = found?.ToDictionary(o => o["objectId"]!.GetValue<string>(), StringComparer.Ordinal);
                if (found is not null && foundById!.Count != found.Count) mismatches.Add($"find {c.ClassName} as {p.Name}: duplicates");
                foreach (var o in c.Objects)
                {
                    var expected = MatrixFixture.Expect(p, c, o);
                    var id = seeded.Ids[(c.ClassName, o.Code)];
                    checks++;
                    if (Disagreement(expected, await door.ReadAsync(p, c.ClassName, id)) is { } read)
                        mismatches.Add($"{door.Name} read {c.ClassName}.{o.Code} as {p.Name}: {read}");
                    if (foundById is null) continue;
                    checks++;
                    if (Disagreement(expected, foundById.GetValueOrDefault(id)) is { } find)
                        mismatches.Add($"{door.Name} find {c.ClassName}.{o.Code} as {p.Name}: {find}");
                }
            }
        output.WriteLine($"{door.Name}: {checks} (principal × object × operation) checks, {mismatches.Count} disagreements");
        AssertSame(mismatches);
    }

    [Theory]
    [MemberData(nameof(EventDoorNames))]
    public async Task every_realtime_door_sends_each_user_exactly_the_events_and_fields_the_matrix_allows(string doorName)
    {
        var door = MatrixDoors.EventDoors(fixture).Single(d => d.Name == doorName);
        var run = Wire.Unique("events");
        var classes = fixture.Cases.Select(c => c.ClassName).Append(MatrixFixture.SentinelClass).ToList();
        var listeners = new Dictionary<Principal, IEventListener>();
        try
        {
            foreach (var p in fixture.Principals.Where(door.Serves))
                listeners[p] = await door.ListenAsync(p, classes, new JsonObject { ["run"] = run });
            var seeded = await fixture.SeedAsync(run);
            await fixture.UpdateThenDeleteAsync(seeded);
            var sentinel = await fixture.SentinelAsync(run);

            var mismatches = new List<string>();
            var checks = 0;
            foreach (var (p, listener) in listeners)
            {
                var events = await listener.UntilAsync(sentinel);
                foreach (var c in fixture.Cases)
                    foreach (var o in c.Objects)
                    {
                        var expected = MatrixFixture.Expect(p, c, o);
                        var id = seeded.Ids[(c.ClassName, o.Code)];
                        var received = events.Where(e => e.ClassName == c.ClassName && e.ObjectId == id).ToList();
                        // Create and a first update as readable before; the ACL change as LiveQuery's table says (update, enter
                        // or leave, by readability before and after); the delete as readable after.
                        var after = MatrixFixture.Expect(p, c, fixture.Changed(c, o)).Visible;
                        var ops = new List<string>();
                        if (expected.Visible) ops.AddRange(["create", "update"]);
                        if ((expected.Visible, after) switch { (true, true) => "update", (false, true) => "enter", (true, false) => "leave", _ => null } is { } change)
                            ops.Add(change);
                        if (after) ops.Add("delete");
                        checks += 4;
                        if (!received.Select(e => e.Op).SequenceEqual(ops))
                            mismatches.Add($"{door.Name} {c.ClassName}.{o.Code} to {p.Name}: got [{string.Join(",", received.Select(e => e.Op))}], expected [{string.Join(",", ops)}]");
                        // Whether an event comes is checked above; each one that comes shows exactly the allowed fields.
                        foreach (var e in received)
                            if (Disagreement(expected with { Visible = true }, e.View) is { } fields)
                                mismatches.Add($"{door.Name} {e.Op} {c.ClassName}.{o.Code} to {p.Name}: {fields}");
                    }
            }
            output.WriteLine($"{door.Name}: {checks} (user × object × operation) checks, {mismatches.Count} disagreements");
            AssertSame(mismatches);
        }
        finally
        {
            foreach (var listener in listeners.Values) await listener.DisposeAsync();
        }
    }

    // ---- ACL: reads ------------------------------------------------------------------------------------

    [Fact]
    public async Task acl_read_doors_show_exactly_the_readable_objects_to_every_principal()
    {
        var (className, ids, holder) = await SeedAsync();
        var mismatches = new List<string>();
        foreach (var p in fixture.Principals)
        {
            using var client = fixture.Client(p);
            var expected = Expected(p, write: false);

            // get: readable → 200, otherwise 101 "not found" (existence does not leak).
            var got = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (code, id) in ids)
            {
                var r = await client.GetAsync($"classes/{className}/{id}");
                if (r.Status == HttpStatusCode.OK) got.Add(code);
                else if (r.Code != 101 || r.Status != HttpStatusCode.NotFound) mismatches.Add($"get {code} as {p.Name}: {r.Raw}");
            }
            Compare(mismatches, "get", p, expected, got);

            Compare(mismatches, "find", p, expected, Codes((await client.QueryAsync(className)).EnsureStatus(HttpStatusCode.OK).Results));
            Compare(mismatches, "find where objectId", p, expected, Codes((await client.QueryAsync(className,
                new JsonObject { ["objectId"] = new JsonObject { ["$in"] = new JsonArray(ids.Values.Select(v => (JsonNode)v).ToArray()) } })).Results));

            var count = (await client.QueryAsync(className, extra: "count=1&limit=0")).EnsureStatus(HttpStatusCode.OK).Json!;
            if (count["count"]!.GetValue<int>() != expected.Count) mismatches.Add($"count as {p.Name}: {count["count"]} != {expected.Count}");
            var countedOne = new HashSet<string>(StringComparer.Ordinal);
            foreach (var code in ids.Keys)
                if ((await client.QueryAsync(className, Where("code", code), "count=1&limit=0")).Json!["count"]!.GetValue<int>() == 1) countedOne.Add(code);
            Compare(mismatches, "count where code", p, expected, countedOne);

            // include: the pointer is replaced by the object only when readable; otherwise nothing of it shows.
            var holders = (await client.QueryAsync(holder, extra: "include=target")).EnsureStatus(HttpStatusCode.OK).Results;
            var included = new HashSet<string>(StringComparer.Ordinal);
            foreach (var h in holders)
            {
                var target = h!["target"];
                if (target?["__type"]?.GetValue<string>() == "Object") included.Add(target["code"]!.GetValue<string>());
                else if (target?["secret"] is not null || target?["code"] is not null) mismatches.Add($"include leaked {target.ToJsonString()} to {p.Name}");
            }
            Compare(mismatches, "include", p, expected, included);
            var single = await client.GetAsync($"classes/{holder}/{holders.First(h => h!["code"]!.GetValue<string>() == "empty")!["objectId"]}?include=target");
            if (!p.Master && single.Json!["target"]?["secret"] is not null) mismatches.Add($"get+include leaked to {p.Name}");

            var inQuery = await client.QueryAsync(holder, new JsonObject
            {
                ["target"] = new JsonObject { ["$inQuery"] = new JsonObject { ["className"] = className, ["where"] = new JsonObject() } },
            });
            Compare(mismatches, "$inQuery", p, expected, Codes(inQuery.EnsureStatus(HttpStatusCode.OK).Results));
            var notInQuery = await client.QueryAsync(holder, new JsonObject
            {
                ["target"] = new JsonObject { ["$notInQuery"] = new JsonObject { ["className"] = className, ["where"] = new JsonObject() } },
            });
            Compare(mismatches, "$notInQuery", p, ids.Keys.Except(expected).ToHashSet(), Codes(notInQuery.EnsureStatus(HttpStatusCode.OK).Results));

            var select = await client.QueryAsync(holder, new JsonObject
            {
                ["code"] = new JsonObject
                {
                    ["$select"] = new JsonObject { ["query"] = new JsonObject { ["className"] = className, ["where"] = new JsonObject() }, ["key"] = "code" },
                },
            });
            Compare(mismatches, "$select", p, expected, Codes(select.EnsureStatus(HttpStatusCode.OK).Results));

            var or = await client.QueryAsync(className, new JsonObject
            {
                ["$or"] = new JsonArray(ids.Keys.Select(code => (JsonNode)Where("code", code)).ToArray()),
            });
            Compare(mismatches, "$or", p, expected, Codes(or.EnsureStatus(HttpStatusCode.OK).Results));

            var batch = await client.BatchAsync(ids.Values.Select(id => ("GET", $"classes/{className}/{id}", (JsonNode?)null)));
            var batchGot = new HashSet<string>(StringComparer.Ordinal);
            foreach (var item in batch.EnsureStatus(HttpStatusCode.OK).Json!.AsArray())
            {
                if (item!["success"] is { } success) batchGot.Add(success["code"]!.GetValue<string>());
                else if (item["error"]!["code"]!.GetValue<int>() != 101) mismatches.Add($"batch get as {p.Name}: {item.ToJsonString()}");
            }
            Compare(mismatches, "batch get", p, expected, batchGot);
            var batchFind = await client.BatchAsync([("GET", $"classes/{className}", null)]);
            Compare(mismatches, "batch find", p, expected, Codes(batchFind.Json![0]!["success"]!["results"]!.AsArray()));
        }
        AssertSame(mismatches);
    }

    // ---- ACL: writes -----------------------------------------------------------------------------------

    [Fact]
    public async Task acl_update_needs_write_permission_only_and_otherwise_looks_like_not_found()
    {
        var (className, ids, _) = await SeedAsync();
        var mismatches = new List<string>();
        using var master = Server.Client().AsMaster();
        foreach (var p in fixture.Principals)
        {
            using var client = fixture.Client(p);
            var updated = new HashSet<string>(StringComparer.Ordinal);
            var batchUpdated = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (code, id) in ids)
            {
                var r = await client.PutAsync($"classes/{className}/{id}", new JsonObject { ["touchedBy"] = p.Name });
                if (r.Status == HttpStatusCode.OK) updated.Add(code);
                else if (r.Code != 101 || r.Status != HttpStatusCode.NotFound) mismatches.Add($"update {code} as {p.Name}: {r.Raw}");
                var after = (await master.GetAsync($"classes/{className}/{id}")).Json!["touchedBy"]?.GetValue<string>();
                if ((after == p.Name) != updated.Contains(code)) mismatches.Add($"update {code} as {p.Name}: stored state disagrees ({after})");

                var b = await client.BatchAsync([("PUT", $"classes/{className}/{id}", new JsonObject { ["batchTouchedBy"] = p.Name })]);
                var item = b.EnsureStatus(HttpStatusCode.OK).Json![0]!;
                if (item["success"] is not null) batchUpdated.Add(code);
                else if (item["error"]!["code"]!.GetValue<int>() != 101) mismatches.Add($"batch update {code} as {p.Name}: {item.ToJsonString()}");
            }
            Compare(mismatches, "update", p, Expected(p, write: true), updated);
            Compare(mismatches, "batch update", p, Expected(p, write: true), batchUpdated);
        }
        AssertSame(mismatches);
    }

    [Fact]
    public async Task acl_delete_needs_write_permission_and_otherwise_looks_like_not_found_and_keeps_the_object()
    {
        var mismatches = new List<string>();
        using var master = Server.Client().AsMaster();
        foreach (var p in fixture.Principals)
        {
            foreach (var viaBatch in new[] { false, true })
            {
                var (className, ids, _) = await SeedAsync();
                using var client = fixture.Client(p);
                var deleted = new HashSet<string>(StringComparer.Ordinal);
                foreach (var (code, id) in ids)
                {
                    int? error;
                    if (viaBatch)
                    {
                        var item = (await client.BatchAsync([("DELETE", $"classes/{className}/{id}", null)])).Json![0]!;
                        error = item["success"] is not null ? null : item["error"]!["code"]!.GetValue<int>();
                    }
                    else
                    {
                        var r = await client.DeleteAsync($"classes/{className}/{id}");
                        error = r.Status == HttpStatusCode.OK ? null : r.Status == HttpStatusCode.NotFound ? r.Code : -r.Code;
                    }
                    if (error is null) deleted.Add(code);
                    else if (error != 101) mismatches.Add($"delete {code} as {p.Name} (batch {viaBatch}): code {error}");
                    var exists = (await master.GetAsync($"classes/{className}/{id}")).Status == HttpStatusCode.OK;
                    if (exists == deleted.Contains(code)) mismatches.Add($"delete {code} as {p.Name}: stored state disagrees");
                }
                Compare(mismatches, viaBatch ? "batch delete" : "delete", p, Expected(p, write: true), deleted);
            }
        }
        AssertSame(mismatches);
    }

    // ---- CLP -------------------------------------------------------------------------------------------

    private async Task<string> ClassWithClpAsync(JsonObject clp, JsonObject? fields = null)
    {
        using var master = Server.Client().AsMaster();
        var className = Wire.Unique("Clp");
        (await master.PostAsync($"schemas/{className}", new JsonObject
        {
            ["className"] = className,
            ["fields"] = fields ?? new JsonObject { ["code"] = new JsonObject { ["type"] = "String" } },
            ["classLevelPermissions"] = clp,
        })).EnsureStatus(HttpStatusCode.OK);
        return className;
    }

    [Fact]
    public async Task clp_denials_are_119_and_requiresAuthentication_without_a_user_is_101()
    {
        var className = await ClassWithClpAsync(new JsonObject
        {
            ["find"] = new JsonObject { ["role:Sales"] = true },
            ["count"] = new JsonObject { ["role:Sales"] = true },
            ["get"] = new JsonObject { ["requiresAuthentication"] = true },
            ["create"] = new JsonObject { ["role:Sales"] = true },
            ["update"] = new JsonObject { ["role:Sales"] = true },
            ["delete"] = new JsonObject(),
            ["addField"] = new JsonObject(),
        });
        using var master = Server.Client().AsMaster();
        var id = (await master.PostAsync($"classes/{className}", new JsonObject { ["code"] = "a" })).Json!["objectId"]!.GetValue<string>();
        using var anonymous = fixture.Client(fixture.Anonymous);
        using var other = fixture.Client(fixture.Other);
        using var member = fixture.Client(fixture.Member);
        using var inheritor = fixture.Client(fixture.Inheritor);

        // find / count
        (await anonymous.QueryAsync(className)).EnsureError(119);
        (await other.QueryAsync(className)).EnsureError(119);
        (await other.QueryAsync(className, extra: "count=1&limit=0")).EnsureError(119);
        Assert.Single((await member.QueryAsync(className)).EnsureStatus(HttpStatusCode.OK).Results);
        Assert.Single((await inheritor.QueryAsync(className)).EnsureStatus(HttpStatusCode.OK).Results);
        Assert.Equal(1, (await inheritor.QueryAsync(className, extra: "count=1&limit=0")).Json!["count"]!.GetValue<int>());
        var otherBatch = (await other.BatchAsync([("GET", $"classes/{className}", null)])).Json![0]!;
        Assert.Equal(119, otherBatch["error"]!["code"]!.GetValue<int>());

        // get: requiresAuthentication
        var anonymousGet = (await anonymous.GetAsync($"classes/{className}/{id}")).EnsureError(101);
        Assert.Contains("authenticated", anonymousGet.Json!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        (await other.GetAsync($"classes/{className}/{id}")).EnsureStatus(HttpStatusCode.OK);
        // A find whose where is exactly {objectId} is a get.
        Assert.Single((await other.QueryAsync(className, Where("objectId", id))).EnsureStatus(HttpStatusCode.OK).Results);

        // create / update / delete / addField
        (await anonymous.PostAsync($"classes/{className}", new JsonObject { ["code"] = "b" })).EnsureError(119);
        (await other.PostAsync($"classes/{className}", new JsonObject { ["code"] = "b" })).EnsureError(119);
        (await member.PostAsync($"classes/{className}", new JsonObject { ["code"] = "b" })).EnsureStatus(HttpStatusCode.Created);
        (await other.PutAsync($"classes/{className}/{id}", new JsonObject { ["code"] = "x" })).EnsureError(119);
        (await inheritor.PutAsync($"classes/{className}/{id}", new JsonObject { ["code"] = "y" })).EnsureStatus(HttpStatusCode.OK);
        (await member.PutAsync($"classes/{className}/{id}", new JsonObject { ["brandNew"] = 1 })).EnsureError(119);
        (await member.DeleteAsync($"classes/{className}/{id}")).EnsureError(119);
        var batchDelete = (await member.BatchAsync([("DELETE", $"classes/{className}/{id}", null)])).Json![0]!;
        Assert.Equal(119, batchDelete["error"]!["code"]!.GetValue<int>());
        (await master.DeleteAsync($"classes/{className}/{id}")).EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task clp_get_denial_on_an_included_class_and_find_denial_in_a_subquery_are_enforced()
    {
        var secretClass = await ClassWithClpAsync(new JsonObject
        {
            ["find"] = new JsonObject { ["role:Sales"] = true },
            ["get"] = new JsonObject { ["role:Sales"] = true },
            ["count"] = new JsonObject(), ["create"] = new JsonObject(), ["update"] = new JsonObject(), ["delete"] = new JsonObject(), ["addField"] = new JsonObject(),
        });
        using var master = Server.Client().AsMaster();
        var secretId = (await master.PostAsync($"classes/{secretClass}", new JsonObject { ["code"] = "hidden" })).Json!["objectId"]!.GetValue<string>();
        var holder = Wire.Unique("Holder");
        (await master.PostAsync($"classes/{holder}", new JsonObject { ["code"] = "h", ["target"] = Wire.PointerTo(secretClass, secretId) }))
            .EnsureStatus(HttpStatusCode.Created);
        using var other = fixture.Client(fixture.Other);
        using var member = fixture.Client(fixture.Member);

        var include = await other.QueryAsync(holder, extra: "include=target");
        Assert.DoesNotContain("hidden", include.Raw, StringComparison.Ordinal);
        var inQuery = new JsonObject { ["target"] = new JsonObject { ["$inQuery"] = new JsonObject { ["className"] = secretClass, ["where"] = new JsonObject() } } };
        (await other.QueryAsync(holder, inQuery)).EnsureError(119);
        var select = new JsonObject
        {
            ["code"] = new JsonObject { ["$select"] = new JsonObject { ["query"] = new JsonObject { ["className"] = secretClass, ["where"] = new JsonObject() }, ["key"] = "code" } },
        };
        (await other.QueryAsync(holder, select)).EnsureError(119);

        Assert.Equal("hidden", (await member.QueryAsync(holder, extra: "include=target")).Results[0]!["target"]!["code"]!.GetValue<string>());
        Assert.Single((await member.QueryAsync(holder, inQuery)).EnsureStatus(HttpStatusCode.OK).Results);
    }

    // ---- pointer permissions ---------------------------------------------------------------------------

    [Fact]
    public async Task pointer_permissions_let_a_user_see_and_edit_only_deals_assigned_to_it_and_anyone_logged_in_create()
    {
        var deal = await ClassWithClpAsync(new JsonObject
        {
            ["get"] = new JsonObject(), ["find"] = new JsonObject(), ["count"] = new JsonObject(),
            ["create"] = new JsonObject { ["requiresAuthentication"] = true },
            ["update"] = new JsonObject(), ["delete"] = new JsonObject(), ["addField"] = new JsonObject(),
            ["readUserFields"] = new JsonArray("assignedTo"),
            ["writeUserFields"] = new JsonArray("assignedTo"),
        }, new JsonObject
        {
            ["code"] = new JsonObject { ["type"] = "String" },
            ["assignedTo"] = new JsonObject { ["type"] = "Pointer", ["targetClass"] = "_User" },
        });
        using var master = Server.Client().AsMaster();
        async Task<string> Create(string code, string? userId, JsonObject? acl = null)
        {
            var body = new JsonObject { ["code"] = code };
            if (userId is not null) body["assignedTo"] = Wire.PointerTo("_User", userId);
            if (acl is not null) body["ACL"] = acl;
            return (await master.PostAsync($"classes/{deal}", body)).EnsureStatus(HttpStatusCode.Created).Json!["objectId"]!.GetValue<string>();
        }
        var ownerDeal = await Create("owner", fixture.Owner.UserId);
        var otherDeal = await Create("other", fixture.Other.UserId);
        await Create("nobody", null);
        // The ACL still applies on top: assigned to the owner but readable by nobody.
        var lockedDeal = await Create("ownerLocked", fixture.Owner.UserId, new JsonObject());

        using var owner = fixture.Client(fixture.Owner);
        using var other = fixture.Client(fixture.Other);
        using var anonymous = fixture.Client(fixture.Anonymous);

        Assert.Equal(new[] { "owner" }, Codes((await owner.QueryAsync(deal)).EnsureStatus(HttpStatusCode.OK).Results));
        Assert.Equal(new[] { "other" }, Codes((await other.QueryAsync(deal)).Results));
        Assert.Empty((await anonymous.QueryAsync(deal)).EnsureStatus(HttpStatusCode.OK).Results);
        Assert.Equal(1, (await owner.QueryAsync(deal, extra: "count=1&limit=0")).Json!["count"]!.GetValue<int>());
        Assert.Equal(new[] { "owner" }, Codes((await owner.QueryAsync(deal, new JsonObject
        {
            ["$or"] = new JsonArray(Where("code", "owner"), Where("code", "other"), Where("code", "nobody")),
        })).Results));

        (await owner.GetAsync($"classes/{deal}/{ownerDeal}")).EnsureStatus(HttpStatusCode.OK);
        (await owner.GetAsync($"classes/{deal}/{otherDeal}")).EnsureError(101);
        (await owner.GetAsync($"classes/{deal}/{lockedDeal}")).EnsureError(101);
        (await anonymous.GetAsync($"classes/{deal}/{ownerDeal}")).EnsureError(101);

        (await owner.PutAsync($"classes/{deal}/{ownerDeal}", new JsonObject { ["code"] = "owner" })).EnsureStatus(HttpStatusCode.OK);
        (await owner.PutAsync($"classes/{deal}/{otherDeal}", new JsonObject { ["code"] = "stolen" })).EnsureError(101);
        (await owner.PutAsync($"classes/{deal}/{lockedDeal}", new JsonObject { ["code"] = "stolen" })).EnsureError(101);
        (await owner.DeleteAsync($"classes/{deal}/{otherDeal}")).EnsureError(101);
        var batch = (await owner.BatchAsync([("PUT", $"classes/{deal}/{otherDeal}", new JsonObject { ["code"] = "stolen" }), ("GET", $"classes/{deal}/{otherDeal}", null)])).Json!;
        Assert.Equal(101, batch[0]!["error"]!["code"]!.GetValue<int>());
        Assert.Equal(101, batch[1]!["error"]!["code"]!.GetValue<int>());
        Assert.Equal("other", (await master.GetAsync($"classes/{deal}/{otherDeal}")).Json!["code"]!.GetValue<string>());

        // Sub-queries and includes see the same restriction.
        var holder = Wire.Unique("DealHolder");
        foreach (var id in new[] { ownerDeal, otherDeal })
            await master.PostAsync($"classes/{holder}", new JsonObject { ["deal"] = Wire.PointerTo(deal, id) });
        var inQuery = await owner.QueryAsync(holder, new JsonObject
        {
            ["deal"] = new JsonObject { ["$inQuery"] = new JsonObject { ["className"] = deal, ["where"] = new JsonObject() } },
        });
        Assert.Equal(ownerDeal, Assert.Single(inQuery.EnsureStatus(HttpStatusCode.OK).Results)!["deal"]!["objectId"]!.GetValue<string>());
        var included = (await owner.QueryAsync(holder, extra: "include=deal")).Results;
        Assert.Equal(new[] { "owner" }, included.Where(h => h!["deal"]?["code"] is not null).Select(h => h!["deal"]!["code"]!.GetValue<string>()).ToArray());

        // Anyone logged in may create; anonymous may not (requiresAuthentication → 101).
        (await other.PostAsync($"classes/{deal}", new JsonObject { ["code"] = "new", ["assignedTo"] = Wire.PointerTo("_User", fixture.Other.UserId!) }))
            .EnsureStatus(HttpStatusCode.Created);
        (await anonymous.PostAsync($"classes/{deal}", new JsonObject { ["code"] = "new" })).EnsureError(101);
    }

    [Fact]
    public async Task count_follows_its_own_clp_and_pointer_permissions_not_those_of_find()
    {
        var deal = await ClassWithClpAsync(new JsonObject
        {
            ["get"] = new JsonObject { ["*"] = true }, ["find"] = new JsonObject { ["*"] = true }, ["count"] = new JsonObject(),
            ["create"] = new JsonObject(), ["update"] = new JsonObject(), ["delete"] = new JsonObject(), ["addField"] = new JsonObject(),
            ["readUserFields"] = new JsonArray("assignedTo"),
        }, new JsonObject
        {
            ["code"] = new JsonObject { ["type"] = "String" },
            ["assignedTo"] = new JsonObject { ["type"] = "Pointer", ["targetClass"] = "_User" },
        });
        using var master = Server.Client().AsMaster();
        foreach (var user in new[] { fixture.Owner, fixture.Other, fixture.Other, fixture.Member })
            await master.PostAsync($"classes/{deal}", new JsonObject { ["code"] = user.Name, ["assignedTo"] = Wire.PointerTo("_User", user.UserId!) });
        using var owner = fixture.Client(fixture.Owner);
        using var other = fixture.Client(fixture.Other);
        using var anonymous = fixture.Client(fixture.Anonymous);

        // find is open to everyone; count only through the pointer.
        Assert.Equal(4, (await owner.QueryAsync(deal)).EnsureStatus(HttpStatusCode.OK).Results.Count);
        Assert.Equal(1, (await owner.QueryAsync(deal, extra: "count=1&limit=0")).EnsureStatus(HttpStatusCode.OK).Json!["count"]!.GetValue<int>());
        Assert.Equal(2, (await other.QueryAsync(deal, extra: "count=1&limit=0")).Json!["count"]!.GetValue<int>());
        var both = (await other.QueryAsync(deal, extra: "count=1&limit=10")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Equal(2, both["count"]!.GetValue<int>());
        Assert.Equal(0, (await anonymous.QueryAsync(deal, extra: "count=1&limit=0")).EnsureStatus(HttpStatusCode.OK).Json!["count"]!.GetValue<int>());

        // And the reverse: count open, find closed — a count alone is allowed, rows are not.
        using var masterSchema = Server.Client().AsMaster();
        (await masterSchema.PutAsync($"schemas/{deal}", new JsonObject
        {
            ["classLevelPermissions"] = new JsonObject
            {
                ["get"] = new JsonObject(), ["find"] = new JsonObject(), ["count"] = new JsonObject { ["*"] = true },
                ["create"] = new JsonObject(), ["update"] = new JsonObject(), ["delete"] = new JsonObject(), ["addField"] = new JsonObject(),
            },
        })).EnsureStatus(HttpStatusCode.OK);
        Assert.Equal(4, (await owner.QueryAsync(deal, extra: "count=1&limit=0")).EnsureStatus(HttpStatusCode.OK).Json!["count"]!.GetValue<int>());
        (await owner.QueryAsync(deal, extra: "count=1&limit=5")).EnsureError(119);
        (await owner.QueryAsync(deal)).EnsureError(119);
    }

    // ---- protected fields ------------------------------------------------------------------------------

    [Fact]
    public async Task protected_fields_are_hidden_by_scope_in_every_door_and_querying_them_is_119()
    {
        var contact = await ClassWithClpAsync(new JsonObject
        {
            ["get"] = new JsonObject { ["*"] = true }, ["find"] = new JsonObject { ["*"] = true }, ["count"] = new JsonObject { ["*"] = true },
            ["create"] = new JsonObject { ["*"] = true }, ["update"] = new JsonObject { ["*"] = true }, ["delete"] = new JsonObject { ["*"] = true },
            ["addField"] = new JsonObject { ["*"] = true },
            ["protectedFields"] = new JsonObject
            {
                ["*"] = new JsonArray("phone", "notes"),
                ["role:Sales"] = new JsonArray(),
                ["userField:manager"] = new JsonArray("notes"),
            },
        }, new JsonObject
        {
            ["code"] = new JsonObject { ["type"] = "String" },
            ["phone"] = new JsonObject { ["type"] = "String" },
            ["notes"] = new JsonObject { ["type"] = "String" },
            ["manager"] = new JsonObject { ["type"] = "Pointer", ["targetClass"] = "_User" },
        });
        using var master = Server.Client().AsMaster();
        var id = (await master.PostAsync($"classes/{contact}", new JsonObject
        {
            ["code"] = "c1", ["phone"] = "555-0100", ["notes"] = "top secret", ["manager"] = Wire.PointerTo("_User", fixture.Owner.UserId!),
        })).Json!["objectId"]!.GetValue<string>();
        var holder = Wire.Unique("ContactHolder");
        await master.PostAsync($"classes/{holder}", new JsonObject { ["contact"] = Wire.PointerTo(contact, id) });

        var mismatches = new List<string>();
        foreach (var p in fixture.Principals)
        {
            using var client = fixture.Client(p);
            // anonymous, other: both hidden; owner (the manager): notes hidden, phone shown; Sales members and master: nothing hidden.
            var shouldSee = p.Name switch
            {
                "anonymous" or "other" => Array.Empty<string>(),
                "owner" => ["phone"],
                _ => ["phone", "notes"],
            };
            var views = new Dictionary<string, JsonNode?>
            {
                ["get"] = (await client.GetAsync($"classes/{contact}/{id}")).Json,
                ["find"] = (await client.QueryAsync(contact)).Results[0],
                ["include"] = (await client.QueryAsync(holder, extra: "include=contact")).Results[0]!["contact"],
                ["batch"] = (await client.BatchAsync([("GET", $"classes/{contact}/{id}", null)])).Json![0]!["success"],
                ["keys"] = (await client.QueryAsync(contact, extra: "keys=phone,notes")).Results[0],
            };
            foreach (var (door, view) in views)
                foreach (var field in new[] { "phone", "notes" })
                    if ((view?[field] is not null) != shouldSee.Contains(field))
                        mismatches.Add($"{door} as {p.Name}: {field} {(view?[field] is null ? "hidden" : "shown")}");

            // A userField scope un-protects per object only; a query runs over every object, so a field is queryable
            // only when the caller's scopes (without userField) already show it.
            var queryable = p.Name is "owner" ? [] : shouldSee;
            foreach (var field in new[] { "phone", "notes" })
            {
                // Any query on a field the caller cannot see would reveal it one guess at a time.
                var queries = new[]
                {
                    await client.QueryAsync(contact, Where(field, "x")),
                    await client.QueryAsync(contact, new JsonObject { ["$or"] = new JsonArray(Where("code", "c1"), Where(field, "x")) }),
                    await client.QueryAsync(holder, new JsonObject
                    {
                        ["contact"] = new JsonObject { ["$inQuery"] = new JsonObject { ["className"] = contact, ["where"] = Where(field, "x") } },
                    }),
                    await client.QueryAsync(holder, new JsonObject
                    {
                        ["objectId"] = new JsonObject
                        {
                            ["$select"] = new JsonObject { ["query"] = new JsonObject { ["className"] = contact, ["where"] = new JsonObject() }, ["key"] = field },
                        },
                    }),
                };
                var hidden = !queryable.Contains(field);
                foreach (var q in queries)
                    if (hidden ? q.Code != 119 : q.Status != HttpStatusCode.OK)
                        mismatches.Add($"query on {field} as {p.Name}: {q.Raw}");
            }
        }
        AssertSame(mismatches);
    }

    [Fact]
    public async Task user_email_is_hidden_from_other_users_by_default_but_shown_to_the_user_and_master()
    {
        using var master = Server.Client().AsMaster();
        using var someone = Server.Client();
        var name = Wire.Unique("mailer");
        var (userId, _) = await someone.SignUpAsync(name, email: $"{name}@example.com");
        // Make the user readable by everyone: the row shows, the email still does not.
        (await master.PutAsync($"users/{userId}", new JsonObject { ["ACL"] = new JsonObject { ["*"] = R, [userId] = RW } })).EnsureStatus(HttpStatusCode.OK);

        using var other = fixture.Client(fixture.Other);
        using var anonymous = fixture.Client(fixture.Anonymous);
        foreach (var client in new[] { other, anonymous })
        {
            var view = (await client.GetAsync($"users/{userId}")).EnsureStatus(HttpStatusCode.OK).Json!;
            Assert.Equal(name, view["username"]!.GetValue<string>());
            Assert.Null(view["email"]);
            Assert.Null(view["sessionToken"]);
            Assert.Null(view["authData"]);
            Assert.DoesNotContain($"{name}@example.com", (await client.QueryAsync("_User", Where("username", name))).Raw, StringComparison.Ordinal);
            (await client.QueryAsync("_User", Where("email", $"{name}@example.com"))).EnsureError(119);
        }
        Assert.Equal($"{name}@example.com", (await someone.GetAsync($"users/{userId}")).Json!["email"]!.GetValue<string>());
        Assert.Equal($"{name}@example.com", (await master.GetAsync($"users/{userId}")).Json!["email"]!.GetValue<string>());
        // Private by default: a user that did not open its ACL is invisible to others.
        (await other.GetAsync($"users/{fixture.Owner.UserId}")).EnsureError(101);
        Assert.DoesNotContain((await other.GetAsync("users")).Results, u => u!["objectId"]!.GetValue<string>() == fixture.Owner.UserId);
    }

    // ---- sessions, roles, master key, defaults ---------------------------------------------------------

    [Fact]
    public async Task another_users_session_is_invisible_through_every_door()
    {
        using var owner = fixture.Client(fixture.Owner);
        using var other = fixture.Client(fixture.Other);
        var ownerSession = (await owner.GetAsync("sessions/me")).EnsureStatus(HttpStatusCode.OK).Json!["objectId"]!.GetValue<string>();
        (await other.GetAsync($"classes/_Session/{ownerSession}")).EnsureError(101);
        (await other.GetAsync($"sessions/{ownerSession}")).EnsureError(101);
        Assert.DoesNotContain((await other.QueryAsync("_Session")).Results, s => s!["objectId"]!.GetValue<string>() == ownerSession);
        Assert.Equal(101, (await other.BatchAsync([("GET", $"sessions/{ownerSession}", null)])).Json![0]!["error"]!["code"]!.GetValue<int>());
        (await other.DeleteAsync($"classes/_Session/{ownerSession}")).EnsureError(101);
        (await fixture.Client(fixture.Anonymous).QueryAsync("_Session")).EnsureError(209);
        (await owner.GetAsync("users/me")).EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task adding_a_user_to_a_role_takes_effect_on_the_next_request_and_removing_it_too()
    {
        using var master = Server.Client().AsMaster();
        var roleName = Wire.Unique("Temp");
        var roleId = await Server.CreateRoleAsync(roleName);
        var className = Wire.Unique("RoleDoc");
        var id = (await master.PostAsync($"classes/{className}", new JsonObject { ["code"] = "r", ["ACL"] = new JsonObject { [$"role:{roleName}"] = RW } }))
            .Json!["objectId"]!.GetValue<string>();
        using var other = fixture.Client(fixture.Other);
        (await other.GetAsync($"classes/{className}/{id}")).EnsureError(101);

        (await master.PutAsync($"roles/{roleId}", new JsonObject { ["users"] = Wire.AddRelation("_User", fixture.Other.UserId!) })).EnsureStatus(HttpStatusCode.OK);
        (await other.GetAsync($"classes/{className}/{id}")).EnsureStatus(HttpStatusCode.OK);

        // Inherited through a parent role added later, too.
        var parentName = Wire.Unique("Parent");
        var parentId = await Server.CreateRoleAsync(parentName);
        var parentDoc = (await master.PostAsync($"classes/{className}", new JsonObject { ["code"] = "p", ["ACL"] = new JsonObject { [$"role:{parentName}"] = R } }))
            .Json!["objectId"]!.GetValue<string>();
        (await other.GetAsync($"classes/{className}/{parentDoc}")).EnsureError(101);
        (await master.PutAsync($"roles/{parentId}", new JsonObject { ["roles"] = Wire.AddRelation("_Role", roleId) })).EnsureStatus(HttpStatusCode.OK);
        (await other.GetAsync($"classes/{className}/{parentDoc}")).EnsureStatus(HttpStatusCode.OK);

        var remove = Wire.AddRelation("_User", fixture.Other.UserId!);
        remove["__op"] = "RemoveRelation";
        (await master.PutAsync($"roles/{roleId}", new JsonObject { ["users"] = remove })).EnsureStatus(HttpStatusCode.OK);
        (await other.GetAsync($"classes/{className}/{id}")).EnsureError(101);
        (await other.GetAsync($"classes/{className}/{parentDoc}")).EnsureError(101);
    }

    [Fact]
    public async Task the_master_key_from_an_address_outside_MasterKeyIps_is_refused_with_403()
    {
        using var server = new CrmServer(TestSettings.Fast(("Parse:MasterKeyIps:0", "10.0.0.0/8")));
        using var master = server.Client().AsMaster();
        foreach (var r in new[] { await master.QueryAsync("_User"), await master.GetAsync("schemas"), await master.PostAsync("classes/Thing", new JsonObject { ["a"] = 1 }) })
        {
            Assert.Equal(HttpStatusCode.Forbidden, r.Status);
            Assert.Equal("unauthorized", r.Json!["error"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task a_wrong_master_key_is_ignored_and_the_request_continues_as_a_normal_client()
    {
        var (className, ids, _) = await SeedAsync();
        var headers = new Dictionary<string, string> { ["X-Parse-Master-Key"] = "not-the-master-key" };
        using var client = Server.Client();
        var find = await client.SendAsync(HttpMethod.Get, $"classes/{className}", headers: headers);
        Assert.Equal(Expected(fixture.Anonymous, write: false), Codes(find.EnsureStatus(HttpStatusCode.OK).Results));
        (await client.SendAsync(HttpMethod.Get, $"classes/{className}/{ids["empty"]}", headers: headers)).EnsureError(101);
        var schemas = await client.SendAsync(HttpMethod.Get, "schemas", headers: headers);
        Assert.Equal(HttpStatusCode.Forbidden, schemas.Status);
        using var user = fixture.Client(fixture.Owner);
        var asUser = await user.SendAsync(HttpMethod.Get, $"classes/{className}", headers: headers);
        Assert.Equal(Expected(fixture.Owner, write: false), Codes(asUser.EnsureStatus(HttpStatusCode.OK).Results));
    }

    [Fact]
    public async Task a_default_acl_with_owner_makes_new_objects_private_to_their_creator()
    {
        using var master = Server.Client().AsMaster();
        (await master.PostAsync("schemas/Memo", new JsonObject { ["className"] = "Memo", ["fields"] = new JsonObject { ["text"] = new JsonObject { ["type"] = "String" } } }))
            .EnsureStatus(HttpStatusCode.OK);
        using var owner = fixture.Client(fixture.Owner);
        using var other = fixture.Client(fixture.Other);
        var id = (await owner.PostAsync("classes/Memo", new JsonObject { ["text"] = "mine" })).EnsureStatus(HttpStatusCode.Created).Json!["objectId"]!.GetValue<string>();
        var mine = (await owner.GetAsync($"classes/Memo/{id}")).EnsureStatus(HttpStatusCode.OK).Json!;
        Assert.Equal(new JsonObject { [fixture.Owner.UserId!] = RW }.ToJsonString(), mine["ACL"]!.ToJsonString());
        (await other.GetAsync($"classes/Memo/{id}")).EnsureError(101);
        (await other.PutAsync($"classes/Memo/{id}", new JsonObject { ["text"] = "x" })).EnsureError(101);
        Assert.DoesNotContain((await other.QueryAsync("Memo")).Results, m => m!["objectId"]!.GetValue<string>() == id);
        // An explicit ACL wins over the default.
        var open = (await owner.PostAsync("classes/Memo", new JsonObject { ["text"] = "open", ["ACL"] = new JsonObject { ["*"] = R } })).Json!["objectId"]!.GetValue<string>();
        (await other.GetAsync($"classes/Memo/{open}")).EnsureStatus(HttpStatusCode.OK);
    }

    [Fact]
    public async Task a_class_that_does_not_exist_is_119_for_clients_through_every_door()
    {
        var missing = Wire.Unique("Missing");
        foreach (var p in new[] { fixture.Anonymous, fixture.Owner })
        {
            using var client = fixture.Client(p);
            (await client.QueryAsync(missing)).EnsureError(119);
            (await client.GetAsync($"classes/{missing}/abcdefghij")).EnsureError(119);
            (await client.PostAsync($"classes/{missing}", new JsonObject { ["a"] = 1 })).EnsureError(119);
            (await client.PutAsync($"classes/{missing}/abcdefghij", new JsonObject { ["a"] = 1 })).EnsureError(119);
            (await client.DeleteAsync($"classes/{missing}/abcdefghij")).EnsureError(119);
            var inQuery = await client.QueryAsync("_User", new JsonObject
            {
                ["objectId"] = new JsonObject { ["$inQuery"] = new JsonObject { ["className"] = missing, ["where"] = new JsonObject() } },
            });
            inQuery.EnsureError(119);
            Assert.Equal(119, (await client.BatchAsync([("GET", $"classes/{missing}", null)])).Json![0]!["error"]!["code"]!.GetValue<int>());
        }
        using var master = Server.Client().AsMaster();
        Assert.Empty((await master.QueryAsync(missing)).EnsureStatus(HttpStatusCode.OK).Results);
    }
}
