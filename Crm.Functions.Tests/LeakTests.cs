using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Crm.Functions.Tests;

/// <summary>
/// Thousands of objects with random ACLs, users in random (nested, even cyclic) roles; every query shape is
/// compared, id by id, with a brute-force reference computed here from the ACLs and role memberships.
/// Set LEAK_SEED to replay a failing run; the seed is printed and named in every failure.
/// </summary>
public sealed class LeakTests(ITestOutputHelper output)
{
    private const int UserCount = 8, RoleCount = 4, TargetCount = 500, DocCount = 2000, BatchSize = 50;

    private sealed record Obj(string Id, int N, JsonObject? Acl, string? TargetId, int Tk);

    private sealed class Caller(string name, string? token, HashSet<string> groups)
    {
        public string Name { get; } = name;
        public string? Token { get; } = token;
        public HashSet<string> Groups { get; } = groups;
        public bool CanRead(JsonObject? acl) => acl is null || Groups.Any(g => acl[g]?["read"]?.GetValue<bool>() == true);
    }

    [Fact]
    public async Task no_query_shape_returns_an_object_the_caller_may_not_read_nor_hides_one_it_may()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("LEAK_SEED"), out var fixedSeed) ? fixedSeed : Random.Shared.Next();
        output.WriteLine($"LEAK_SEED={seed}");
        try
        {
            await RunAsync(seed);
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException { Message: var m } || !m.StartsWith("LEAK_SEED=", StringComparison.Ordinal))
        {
            // Failures during set-up must name the seed too, or they cannot be replayed.
            throw new Xunit.Sdk.XunitException($"LEAK_SEED={seed}\n{e}");
        }
    }

    private async Task RunAsync(int seed)
    {
        var random = new Random(seed);
        using var server = new CrmServer(TestSettings.Fast());
        using var master = server.Client().AsMaster();

        // Users and roles. Role i's users are random; R3 is in R0.roles (R3's members inherit R0, not the reverse),
        // and R1 and R2 are in each other's roles (a cycle the resolution must cut).
        var userIds = new List<string>();
        var tokens = new List<string>();
        for (var i = 0; i < UserCount; i++)
        {
            using var c = server.Client();
            var (id, token) = await c.SignUpAsync(Wire.Unique($"leak{i}_"));
            userIds.Add(id);
            tokens.Add(token);
        }
        var roleNames = Enumerable.Range(0, RoleCount).Select(i => Wire.Unique($"LeakRole{i}_")).ToList();
        var roleUsers = roleNames.Select(_ => userIds.Where(_ => random.NextDouble() < 0.25).ToHashSet()).ToList();
        var roleIds = new List<string>();
        for (var i = 0; i < RoleCount; i++)
            roleIds.Add(await server.CreateRoleAsync(roleNames[i], [.. roleUsers[i]]));
        var childRoles = new Dictionary<int, int[]> { [0] = [3], [1] = [2], [2] = [1] };
        foreach (var (parent, children) in childRoles)
            (await master.PutAsync($"roles/{roleIds[parent]}", new JsonObject
            {
                ["roles"] = Wire.AddRelation("_Role", children.Select(c => roleIds[c]).ToArray()),
            })).EnsureStatus(HttpStatusCode.OK);

        // Reference role resolution: direct membership, then parents of held roles until nothing changes.
        var callers = new List<Caller> { new("anonymous", null, ["*"]) };
        for (var u = 0; u < UserCount; u++)
        {
            var held = Enumerable.Range(0, RoleCount).Where(r => roleUsers[r].Contains(userIds[u])).ToHashSet();
            for (var changed = true; changed;)
            {
                changed = false;
                foreach (var (parent, children) in childRoles)
                    if (!held.Contains(parent) && children.Any(held.Contains)) changed = held.Add(parent);
            }
            callers.Add(new Caller($"user{u}", tokens[u], ["*", userIds[u], .. held.Select(r => "role:" + roleNames[r])]));
        }
        foreach (var c in callers) output.WriteLine($"{c.Name}: {string.Join(" ", c.Groups)}");

        JsonObject? RandomAcl()
        {
            JsonObject Entry(bool read, bool write)
            {
                var e = new JsonObject();
                if (read) e["read"] = true;
                if (write) e["write"] = true;
                return e;
            }
            string User() => userIds[random.Next(UserCount)];
            string Role() => "role:" + roleNames[random.Next(RoleCount)];
            return random.Next(8) switch
            {
                0 => null,
                1 => new JsonObject { ["*"] = Entry(true, random.Next(2) == 0) },
                2 => new JsonObject { [User()] = Entry(true, true) },
                3 => new JsonObject { [Role()] = Entry(true, random.Next(2) == 0) },
                4 => new JsonObject(),
                5 => new JsonObject { [User()] = Entry(false, true), [Role()] = Entry(false, true) },
                6 => new JsonObject { [User()] = Entry(true, false), [Role()] = Entry(true, true) },
                _ => Enumerable.Range(0, 3).Select(_ => random.Next(2) == 0 ? User() : Role()).Distinct()
                    .Aggregate(new JsonObject(), (acl, key) => { acl[key] = Entry(true, false); return acl; }),
            };
        }

        async Task<List<Obj>> CreateAllAsync(string className, int count, Func<int, (string? TargetId, int Tk)> extra)
        {
            var created = new List<Obj>();
            for (var start = 0; start < count; start += BatchSize)
            {
                var pending = new List<(int N, JsonObject? Acl, string? TargetId, int Tk, JsonObject Body)>();
                for (var n = start; n < Math.Min(count, start + BatchSize); n++)
                {
                    var acl = RandomAcl();
                    var (targetId, tk) = extra(n);
                    var body = new JsonObject { ["n"] = n, ["bucket"] = n % 7, ["k"] = n, ["tk"] = tk };
                    if (targetId is not null) body["target"] = Wire.PointerTo("LeakTarget", targetId);
                    if (acl is not null) body["ACL"] = acl.DeepClone();
                    pending.Add((n, acl, targetId, tk, body));
                }
                var response = (await master.BatchAsync(pending.Select(p => ("POST", $"classes/{className}", (JsonNode?)p.Body)))).EnsureStatus(HttpStatusCode.OK);
                var results = response.Json!.AsArray();
                for (var i = 0; i < pending.Count; i++)
                {
                    var id = results[i]!["success"]?["objectId"]?.GetValue<string>() ?? throw new InvalidOperationException(results[i]!.ToJsonString());
                    created.Add(new Obj(id, pending[i].N, pending[i].Acl, pending[i].TargetId, pending[i].Tk));
                }
            }
            return created;
        }

        var targets = await CreateAllAsync("LeakTarget", TargetCount, _ => (null, -1));
        var docs = await CreateAllAsync("LeakDoc", DocCount, _ =>
        {
            var target = random.NextDouble() < 0.7 ? targets[random.Next(TargetCount)] : null;
            return (target?.Id, random.NextDouble() < 0.8 ? random.Next(TargetCount) : TargetCount + random.Next(100));
        });
        var targetsById = targets.ToDictionary(t => t.Id);
        var docsById = docs.ToDictionary(d => d.Id);

        var failures = new List<string>();
        long comparisons = 0;
        var shapes = new HashSet<string>(StringComparer.Ordinal);
        void CompareIds(string shape, Caller caller, IEnumerable<Obj> universe, Func<Obj, bool> expectedIf, ICollection<string> actual)
        {
            shapes.Add(shape);
            var expected = universe.Where(expectedIf).Select(o => o.Id).ToHashSet(StringComparer.Ordinal);
            var actualSet = actual.ToHashSet(StringComparer.Ordinal);
            comparisons += universe.Count();
            if (actual.Count != actualSet.Count) failures.Add($"[seed {seed}] {shape} as {caller.Name}: duplicates in results");
            var leaked = actualSet.Except(expected).ToList();
            var hidden = expected.Except(actualSet).ToList();
            if (leaked.Count > 0 || hidden.Count > 0)
                failures.Add($"[seed {seed}] {shape} as {caller.Name}: {leaked.Count} leaked (e.g. {string.Join(",", leaked.Take(3))}), {hidden.Count} hidden (e.g. {string.Join(",", hidden.Take(3))})");
        }

        foreach (var caller in callers)
        {
            using var client = server.Client().WithSession(caller.Token);
            bool Readable(Obj o) => caller.CanRead(o.Acl);

            // find without where, paging through everything (limit/skip), with include of the pointed-to target.
            var paged = new List<JsonNode>();
            for (var skip = 0; ; skip += 300)
            {
                var page = (await client.QueryAsync("LeakDoc", extra: $"order=n&limit=300&skip={skip}&include=target")).EnsureStatus(HttpStatusCode.OK).Results;
                paged.AddRange(page.Select(p => p!));
                if (page.Count < 300) break;
            }
            CompareIds("find paged", caller, docs, Readable, paged.Select(p => p["objectId"]!.GetValue<string>()).ToList());
            var ns = paged.Select(p => p["n"]!.GetValue<int>()).ToList();
            if (!ns.SequenceEqual(ns.Order())) failures.Add($"[seed {seed}] paging as {caller.Name} is out of order");

            // include: the target is an object exactly when it is readable; otherwise nothing of it shows.
            var returnedDocs = paged.Where(p => docsById.ContainsKey(p["objectId"]!.GetValue<string>())).ToList();
            var withTarget = returnedDocs.Select(p => docsById[p["objectId"]!.GetValue<string>()]).Where(d => d.TargetId is not null).ToList();
            var includedTargets = returnedDocs
                .Where(p => p["target"]?["__type"]?.GetValue<string>() == "Object")
                .Select(p => p["objectId"]!.GetValue<string>()).ToList();
            CompareIds("include", caller, withTarget, d => caller.CanRead(targetsById[d.TargetId!].Acl), includedTargets);
            foreach (var p in returnedDocs)
                if (p["target"] is JsonObject t && t["__type"]?.GetValue<string>() != "Object" && t["k"] is not null)
                    failures.Add($"[seed {seed}] include as {caller.Name} leaked fields of {t["objectId"]}");

            // find with where, count with and without where.
            var bucket = (await client.QueryAsync("LeakDoc", new JsonObject { ["bucket"] = 3 }, "limit=1000")).EnsureStatus(HttpStatusCode.OK).Results;
            CompareIds("find where", caller, docs, d => Readable(d) && d.N % 7 == 3, bucket.Select(p => p!["objectId"]!.GetValue<string>()).ToList());
            var total = (await client.QueryAsync("LeakDoc", extra: "count=1&limit=0")).EnsureStatus(HttpStatusCode.OK).Json!["count"]!.GetValue<int>();
            shapes.Add("count");
            comparisons++;
            if (total != docs.Count(Readable)) failures.Add($"[seed {seed}] count as {caller.Name}: {total} != {docs.Count(Readable)}");
            var inBuckets = new JsonObject { ["bucket"] = new JsonObject { ["$in"] = new JsonArray(1, 2) } };
            var counted = (await client.QueryAsync("LeakDoc", inBuckets, "count=1&limit=0")).Json!["count"]!.GetValue<int>();
            var expectedCount = docs.Count(d => Readable(d) && d.N % 7 is 1 or 2);
            shapes.Add("count where");
            comparisons++;
            if (counted != expectedCount) failures.Add($"[seed {seed}] count where as {caller.Name}: {counted} != {expectedCount}");

            // $inQuery: the sub-query sees only targets the caller may read.
            var inQuery = (await client.QueryAsync("LeakDoc", new JsonObject
            {
                ["target"] = new JsonObject
                {
                    ["$inQuery"] = new JsonObject { ["className"] = "LeakTarget", ["where"] = new JsonObject { ["k"] = new JsonObject { ["$lt"] = 250 } } },
                },
            }, "limit=1000")).EnsureStatus(HttpStatusCode.OK).Results;
            CompareIds("$inQuery", caller, docs,
                d => Readable(d) && d.TargetId is not null && caller.CanRead(targetsById[d.TargetId].Acl) && targetsById[d.TargetId].N < 250,
                inQuery.Select(p => p!["objectId"]!.GetValue<string>()).ToList());

            // $select: matches a value of a readable target only.
            var readableKs = targets.Where(t => caller.CanRead(t.Acl)).Select(t => t.N).ToHashSet();
            var select = (await client.QueryAsync("LeakDoc", new JsonObject
            {
                ["tk"] = new JsonObject
                {
                    ["$select"] = new JsonObject { ["query"] = new JsonObject { ["className"] = "LeakTarget", ["where"] = new JsonObject() }, ["key"] = "k" },
                },
                ["bucket"] = new JsonObject { ["$lte"] = 2 },
            }, "limit=1000")).EnsureStatus(HttpStatusCode.OK).Results;
            CompareIds("$select", caller, docs, d => Readable(d) && d.N % 7 <= 2 && readableKs.Contains(d.Tk),
                select.Select(p => p!["objectId"]!.GetValue<string>()).ToList());

            // $or.
            var or = (await client.QueryAsync("LeakDoc", new JsonObject
            {
                ["$or"] = new JsonArray(new JsonObject { ["bucket"] = 1 }, new JsonObject { ["n"] = new JsonObject { ["$gte"] = 1800 } }),
            }, "limit=1000")).EnsureStatus(HttpStatusCode.OK).Results;
            CompareIds("$or", caller, docs, d => Readable(d) && (d.N % 7 == 1 || d.N >= 1800), or.Select(p => p!["objectId"]!.GetValue<string>()).ToList());

            // batch GETs of random objects of both classes: success exactly when readable, else 101.
            var sample = Enumerable.Range(0, 100).Select(_ => random.Next(3) == 0 ? targets[random.Next(TargetCount)] : docs[random.Next(DocCount)])
                .DistinctBy(o => o.Id).ToList();
            var got = new List<string>();
            foreach (var chunk in sample.Chunk(BatchSize))
            {
                var batch = (await client.BatchAsync(chunk.Select(o =>
                    ("GET", $"classes/{(targetsById.ContainsKey(o.Id) ? "LeakTarget" : "LeakDoc")}/{o.Id}", (JsonNode?)null)))).EnsureStatus(HttpStatusCode.OK);
                foreach (var item in batch.Json!.AsArray())
                {
                    if (item!["success"] is { } success) got.Add(success["objectId"]!.GetValue<string>());
                    else if (item["error"]!["code"]!.GetValue<int>() != 101) failures.Add($"[seed {seed}] batch get as {caller.Name}: {item.ToJsonString()}");
                }
            }
            CompareIds("batch get", caller, sample, Readable, got);

            // find on the targets themselves, in one page.
            var allTargets = (await client.QueryAsync("LeakTarget", extra: "limit=1000")).EnsureStatus(HttpStatusCode.OK).Results;
            CompareIds("find targets", caller, targets, Readable, allTargets.Select(p => p!["objectId"]!.GetValue<string>()).ToList());
        }

        output.WriteLine($"{callers.Count} callers ({UserCount} users + anonymous), {RoleCount} roles, {TargetCount + DocCount} objects, " +
                         $"{shapes.Count} query shapes, {comparisons} per-object comparisons");
        Assert.True(failures.Count == 0, $"LEAK_SEED={seed}\n" + string.Join("\n", failures));
    }
}
