using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Store;
using Microsoft.Extensions.Options;

namespace Crm.Functions.Core.Requests;

/// <summary>
/// Parse's request idempotency (<see cref="IdempotencySettings"/>): a guarded request carrying <c>X-Parse-Request-Id</c>
/// claims its id before it runs, and a second request with the same id within the TTL is refused with 159 "Duplicate
/// request" without running. A claim is an insert into the master-only class <c>_Idempotency</c> keyed by the id, so
/// the store's uniqueness decides between racing requests on any number of instances (SQLite's primary key, Cosmos's
/// create answering 409). As in parse-server, the claim is taken before the request runs and stays when the request
/// fails, so a retried failure is a duplicate too; <c>/batch</c> and its sub-requests are not guarded.
/// </summary>
internal sealed class DuplicateRequests(IObjectStore store, IOptions<ParseSettings> options, TimeProvider time)
{
    public const string ClassName = "_Idempotency";

    /// <summary>At most this many expired ids are removed per purge, so no request pays for a long backlog at once.</summary>
    private const int PurgeBatch = 50;

    /// <summary>The route families parse-server guards (its promiseEnsureIdempotency), for POST and PUT.</summary>
    private static readonly HashSet<string> GuardedFunctions = new(StringComparer.Ordinal) { "classes", "users", "installations", "functions", "jobs" };

    private static readonly FieldDefinition Text = new(FieldType.String);

    private readonly IdempotencySettings _settings = options.Value.Idempotency;
    private readonly Regex[] _paths = [.. options.Value.Idempotency.Paths.Where(p => !string.IsNullOrWhiteSpace(p)).Select(p =>
        new Regex(p.StartsWith('^') ? p : "^" + p, RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100)))];
    private long _nextPurge;

    /// <summary>Whether a request to this route (its function name, method and path after the mount path) is de-duplicated.</summary>
    public bool Guards(string function, string method, string path)
    {
        if (!_settings.Enabled || method is not ("POST" or "PUT") || !GuardedFunctions.Contains(function)) return false;
        if (_paths.Length == 0) return true;
        var relative = path.Trim('/');
        return _paths.Any(p => p.IsMatch(relative));
    }

    /// <summary>Claims a request id for the TTL; throws 159 when it is claimed already.</summary>
    public async Task ClaimAsync(string requestId, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        // The id is the client's text: its hash keys the claim (fixed length, no characters a store's ids forbid).
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(requestId)))[..32];
        var claim = new StoredObject
        {
            ClassName = ClassName, ObjectId = key, OwnerId = key,
            CreatedAt = ParseDates.Format(now), UpdatedAt = ParseDates.Format(now), Acl = [],
            Data = new JsonObject
            {
                ["reqId"] = Names.Truncate(requestId),
                ["expire"] = ParseDates.Format(now.AddSeconds(Math.Max(1, _settings.TtlSeconds))),
            },
        };
        try
        {
            await store.InsertAsync(claim, [], ct);
        }
        catch (DuplicateKeyException)
        {
            // Seen before. An expired claim not yet purged is free again: remove it (only while expired, so of two
            // requests taking it over one removes it) and claim afresh, where the store again lets one of them win.
            if (await store.DeleteAsync(ClassName, key, Expired(now), ct) is null) throw Duplicate();
            try { await store.InsertAsync(claim.Clone(), [], ct); }
            catch (DuplicateKeyException) { throw Duplicate(); }
        }
        await PurgeIfDueAsync(now, ct);
    }

    private static ParseException Duplicate() => new(ParseError.DuplicateRequest, "Duplicate request");

    private static CompareNode Expired(DateTimeOffset now) =>
        new(FieldRef.Of("expire", Text), CompareOp.Lte, new StringValue(ParseDates.Format(now)));

    /// <summary>
    /// Removes expired ids, at most once per half TTL per instance and a bounded number at a time, on the way of a claim:
    /// the class stays as small as the traffic of one TTL without a timer of its own.
    /// </summary>
    private async Task PurgeIfDueAsync(DateTimeOffset now, CancellationToken ct)
    {
        var due = Interlocked.Read(ref _nextPurge);
        var next = now.AddSeconds(Math.Max(1, _settings.TtlSeconds / 2.0)).ToUnixTimeMilliseconds();
        if (now.ToUnixTimeMilliseconds() < due || Interlocked.CompareExchange(ref _nextPurge, next, due) != due) return;
        var expired = await store.FindAsync(new StoreQuery(ClassName, Expired(now), [], 0, PurgeBatch), ct);
        foreach (var old in expired) await store.DeleteAsync(ClassName, old.ObjectId, Expired(now), ct);
        // A full page means more are waiting: come back on the next claim rather than after half a TTL.
        if (expired.Count == PurgeBatch) Interlocked.Exchange(ref _nextPurge, 0);
    }
}
