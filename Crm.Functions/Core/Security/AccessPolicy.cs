using System.Text.Json.Nodes;
using Crm.Functions.Core.Json;
using Crm.Functions.Core.Query;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Store;

namespace Crm.Functions.Core.Security;

/// <summary>
/// The one place that decides who may do what. Every door — REST objects and queries, include, count,
/// batch, sub-queries, GraphQL and real time — asks this class, so the rules cannot drift apart the way
/// parse-server's separate REST and LiveQuery checks did. Decisions come back either as a thrown Parse
/// error (denied) or as a <see cref="QueryNode"/> restriction that the store applies inside its query,
/// so hidden objects never count towards <c>limit</c> or <c>count</c>.
/// </summary>
internal sealed class AccessPolicy
{
    public const string Get = "get", Find = "find", Count = "count", Create = "create", Update = "update", Delete = "delete", AddField = "addField";

    /// <summary>Server-wide protected fields merged into every class (Parse's default hides _User.email from other users).</summary>
    private static readonly Dictionary<string, Dictionary<string, string[]>> ServerProtectedFields = new(StringComparer.Ordinal)
    {
        ["_User"] = new(StringComparer.Ordinal) { ["*"] = ["email"] },
    };

    /// <summary>
    /// Fields protected from everyone but the master key (and, in output, the user itself), whatever the CLP says:
    /// _User.authData holds identity-provider ids and tenants, which must not be readable, sortable or searchable.
    /// </summary>
    private static readonly Dictionary<string, string[]> AlwaysProtectedFields = new(StringComparer.Ordinal)
    {
        ["_User"] = ["authData"],
    };

    /// <summary>Hard rules that no CLP can open: internal classes, and _Installation listing.</summary>
    public static void CheckClassAccess(Auth auth, string className, string op)
    {
        if (Names.MasterOnlyClasses.Contains(className))
            throw new ParseException(ParseError.OperationForbidden, $"Clients aren't allowed to perform the {op} operation on the {className} collection.");
        if (auth.IsMaster) return;
        if (className == "_Installation" && op is Find or Delete)
            throw new ParseException(ParseError.OperationForbidden, $"Clients aren't allowed to perform the {op} operation on the installation collection.");
        if (className == "_Session" && !auth.IsAuthenticated)
            throw new ParseException(ParseError.InvalidSessionToken, "Session token required.");
    }

    /// <summary>
    /// Built-in classes whose fields only the master key adds: they are shared by every user (and _User is open to
    /// anonymous sign-up), so a client adding fields would grow them for everyone, for good.
    /// </summary>
    private static readonly HashSet<string> MasterOnlyAddField = new(StringComparer.Ordinal) { "_User", "_Role", "_Session" };

    /// <summary>
    /// Whether the caller may add fields to a class through a write: never to the built-in classes above, else as the
    /// CLP's addField says. Returns the pointer-permission fields, as <see cref="CheckClassLevel"/>.
    /// </summary>
    public static IReadOnlyList<string> CheckAddField(Auth auth, ClassSchema schema)
    {
        if (auth.IsMaster) return [];
        if (MasterOnlyAddField.Contains(schema.ClassName))
            throw new ParseException(ParseError.OperationForbidden, $"Permission denied for action {AddField} on class {schema.ClassName}.");
        return CheckClassLevel(auth, schema, AddField);
    }

    /// <summary>
    /// Roles decide who reads what: a client able to create a role could pre-claim a name the server or an
    /// administrator later trusts. So _Role writes are for the master key unless the server opens them
    /// (<c>Parse:AllowClientRoleWrites</c>); then CLP and ACL decide as for any class.
    /// </summary>
    public static void CheckRoleWrite(Auth auth, string className, string op, bool allowClientRoleWrites)
    {
        if (className != "_Role" || auth.IsMaster || allowClientRoleWrites) return;
        throw new ParseException(ParseError.OperationForbidden, $"Clients aren't allowed to perform the {op} operation on the {className} collection.");
    }

    /// <summary>
    /// Class-level permission check (security.md §4). Returns the pointer-permission fields that must
    /// point to the caller, or an empty list when the caller is allowed outright.
    /// </summary>
    public static IReadOnlyList<string> CheckClassLevel(Auth auth, ClassSchema schema, string op)
    {
        if (auth.IsMaster) return [];
        var clp = schema.ClassLevelPermissions;
        if (clp[op] is not JsonObject perms) return []; // an operation the CLP does not mention is open
        if (auth.AclGroups.Any(g => perms[g] is JsonValue v && v.TryGetValue(out bool b) && b)) return [];

        var requiresAuth = perms["requiresAuthentication"] is JsonValue ra && ra.TryGetValue(out bool r) && r;
        if (requiresAuth && !auth.IsAuthenticated)
            throw new ParseException(ParseError.ObjectNotFound, "Permission denied, user needs to be authenticated.");

        var pointerFields = PointerFields(clp, perms, op);
        if (requiresAuth) return pointerFields;
        if (op == Create || pointerFields.Count == 0)
            throw new ParseException(ParseError.OperationForbidden, $"Permission denied for action {op} on class {schema.ClassName}.");
        return pointerFields;
    }

    private static List<string> PointerFields(JsonObject clp, JsonObject perms, string op)
    {
        var fields = new List<string>();
        if (perms["pointerFields"] is JsonArray own) fields.AddRange(own.Select(n => n?.ToString() ?? "").Where(n => n.Length > 0));
        var shared = op is Get or Find or Count ? "readUserFields" : op is Update or Delete or AddField ? "writeUserFields" : null;
        if (shared is not null && clp[shared] is JsonArray list) fields.AddRange(list.Select(n => n?.ToString() ?? "").Where(n => n.Length > 0));
        return fields.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>The restriction for reading objects of a class with operation get/find/count.</summary>
    public static QueryNode ReadRestriction(Auth auth, ClassSchema schema, string op) => Restriction(auth, schema, op, write: false);

    /// <summary>The restriction for updating or deleting objects of a class.</summary>
    public static QueryNode WriteRestriction(Auth auth, ClassSchema schema, string op) => Restriction(auth, schema, op, write: true);

    private static QueryNode Restriction(Auth auth, ClassSchema schema, string op, bool write)
    {
        CheckClassAccess(auth, schema.ClassName, op);
        if (auth.IsMaster) return QueryNode.True;
        var pointerFields = CheckClassLevel(auth, schema, op);
        var nodes = new List<QueryNode>();

        if (pointerFields.Count > 0)
        {
            // Pointer permissions: the object must name the caller in one of the fields (no caller, no object).
            if (!auth.IsAuthenticated) return QueryNode.False;
            var me = new PointerValue("_User", auth.UserId!);
            nodes.Add(QueryNode.Or(pointerFields.Select(f => (QueryNode)new CompareNode(
                WhereParser.ResolveField(f, schema), CompareOp.Eq, me))));
        }

        // _Session rows are private to their user whatever their ACL; _User rows are writable only by themselves.
        if (schema.ClassName == "_Session")
            nodes.Add(new CompareNode(FieldRef.Of("user", schema.Field("user")), CompareOp.Eq, new PointerValue("_User", auth.UserId!)));
        if (schema.ClassName == "_User" && write)
            nodes.Add(auth.IsAuthenticated ? new CompareNode(FieldRef.Of("objectId"), CompareOp.Eq, new StringValue(auth.UserId!)) : QueryNode.False);

        nodes.Add(new AclNode(auth.AclGroups, write));
        return QueryNode.And(nodes);
    }

    /// <summary>"May this caller read this object" (with operation get or find), decided in memory by the same restriction a REST read applies.</summary>
    public static bool CanRead(Auth auth, ClassSchema schema, StoredObject obj, string op = Find)
    {
        QueryNode restriction;
        try
        {
            restriction = ReadRestriction(auth, schema, op);
        }
        catch (ParseException)
        {
            return false; // the CLP refuses the read outright (or the class is internal): nothing is readable
        }
        return QueryMatcher.Matches(restriction, obj);
    }

    /// <summary>Fields hidden from the caller before any per-object userField scopes (security.md §6).</summary>
    public static HashSet<string> ProtectedFields(Auth auth, ClassSchema schema)
    {
        if (auth.IsMaster) return [];
        var scopes = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        if (schema.ClassLevelPermissions["protectedFields"] is JsonObject pf)
            foreach (var (scope, list) in pf)
                if (list is JsonArray array) scopes[scope] = array.Select(n => n?.ToString() ?? "").ToHashSet(StringComparer.Ordinal);
        if (ServerProtectedFields.TryGetValue(schema.ClassName, out var server))
            foreach (var (scope, list) in server)
                scopes[scope] = scopes.TryGetValue(scope, out var existing) ? [.. existing, .. list] : list.ToHashSet(StringComparer.Ordinal);

        HashSet<string>? result = null;
        void Apply(string key)
        {
            if (!scopes.TryGetValue(key, out var list)) return;
            if (result is null) result = [.. list];
            else result.IntersectWith(list);
        }
        Apply("*");
        if (auth.IsAuthenticated)
        {
            Apply("authenticated");
            foreach (var role in auth.Roles) Apply("role:" + role);
            Apply(auth.UserId!);
        }
        result ??= [];
        if (AlwaysProtectedFields.TryGetValue(schema.ClassName, out var always)) result.UnionWith(always);
        return result;
    }

    /// <summary>Querying a protected field would reveal it: 119, as parse-server does.</summary>
    public static void EnsureQueryable(Auth auth, ClassSchema schema, string field)
    {
        if (auth.IsMaster) return;
        if (ProtectedFields(auth, schema).Contains(field))
            throw new ParseException(ParseError.OperationForbidden, $"This user is not allowed to query {field} on class {schema.ClassName}");
    }

    /// <summary>
    /// The fields of one object hidden from the caller: its protected fields, less those a userField scope naming the
    /// caller in this object lets it see; nothing for the master key or for a user reading itself.
    /// </summary>
    /// <param name="field">reads a field of the object (only consulted when userField scopes exist)</param>
    public static IReadOnlySet<string> HiddenFields(Auth auth, ClassSchema schema, string objectId, Func<string, JsonNode?> field,
        HashSet<string> baseProtected)
    {
        if (auth.IsMaster || baseProtected.Count == 0) return NothingHidden;
        if (schema.ClassName == "_User" && auth.UserId == objectId) return NothingHidden;
        IReadOnlySet<string> hidden = baseProtected;
        if (auth.IsAuthenticated && schema.ClassLevelPermissions["protectedFields"] is JsonObject pf)
        {
            foreach (var (scope, list) in pf)
            {
                if (!scope.StartsWith("userField:", StringComparison.Ordinal) || list is not JsonArray array) continue;
                if (!PointsTo(field(scope["userField:".Length..]), auth.UserId!)) continue;
                hidden = hidden.Intersect(array.Select(n => n?.ToString() ?? ""), StringComparer.Ordinal).ToHashSet(StringComparer.Ordinal);
            }
        }
        return hidden;
    }

    private static readonly IReadOnlySet<string> NothingHidden = new HashSet<string>();

    private static bool PointsTo(JsonNode? value, string userId) => value switch
    {
        JsonObject o => o["objectId"]?.ToString() == userId,
        JsonArray a => a.Any(item => item is JsonObject o && o["objectId"]?.ToString() == userId),
        _ => false,
    };
}
