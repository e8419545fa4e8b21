using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using Crm.Functions.Core.Schema;
using Crm.Functions.Core.Security;
using Crm.Functions.Core.Store;

namespace Crm.Functions.Tests.Storage;

/// <summary>
/// The encoder writes an object either straight from the stored text (SQLite reads) or from its tree (Cosmos
/// reads, objects a hook or a write touched). Both must give every caller exactly the same answer; the HTTP suites
/// check the answers themselves on each store.
/// </summary>
public class ObjectEncoderTests
{
    private static readonly ParseSettings Settings = new() { AppId = "crm", MasterKey = "a-long-enough-master-key" };

    private static readonly string StoredData = """
        {"title":"Ünïcode \"quoted\" <b>&</b> \ud83d\ude00","amount":12.5,"count":3,"open":true,"none":null,
         "closeDate":{"__type":"Date","iso":"2026-01-02T03:04:05.000Z"},
         "company":{"__type":"Pointer","className":"Company","objectId":"c1"},
         "owner":{"__type":"Pointer","className":"_User","objectId":"u1"},
         "logo":{"__type":"File","name":"logo one.png"},
         "attachments":[{"__type":"File","name":"a.pdf"},"text",{"nested":{"__type":"File","name":"b.txt"}}],
         "meta":{"k":[1,2,{"x":"y"}],"file":{"__type":"File","name":"c.txt"}},
         "tags":["a","b"],
         "secret":"hidden from most",
         "undeclared":{"__type":"File","name":"d.txt"},
         "_internal":{"never":"shown"},"_hashed_password":"$2b$10$abc",
         "members":{"__type":"Relation","className":"_User"}}
        """;

    private static readonly string StoredAcl = """{"u1":{"read":true,"write":true},"role:Managers":{"read":true}}""";

    private static ClassSchema Deal(JsonObject? clp = null) => ClassSchema.Create("Deal", new Dictionary<string, FieldDefinition>
    {
        ["title"] = new(FieldType.String), ["amount"] = new(FieldType.Number), ["count"] = new(FieldType.Number),
        ["open"] = new(FieldType.Boolean), ["none"] = new(FieldType.String), ["closeDate"] = new(FieldType.Date),
        ["company"] = new(FieldType.Pointer, "Company"), ["owner"] = new(FieldType.Pointer, "_User"),
        ["logo"] = new(FieldType.File), ["attachments"] = new(FieldType.Array), ["meta"] = new(FieldType.Object),
        ["tags"] = new(FieldType.Array), ["secret"] = new(FieldType.String), ["members"] = new(FieldType.Relation, "_User"),
    }, clp);

    private static StoredObject FromText(string className, string data, string? acl, string objectId = "o1") => StoredObject.FromText(
        className, objectId, "u1", "2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z", "1",
        acl is null ? null : Encoding.UTF8.GetBytes(acl), Encoding.UTF8.GetBytes(data));

    private static StoredObject FromTree(string className, string data, string? acl, string objectId = "o1") => new()
    {
        ClassName = className, ObjectId = objectId, OwnerId = "u1", CreatedAt = "2026-01-01T00:00:00.000Z", UpdatedAt = "2026-01-02T00:00:00.000Z",
        ETag = "1", Data = (JsonObject)JsonNode.Parse(data)!, Acl = acl is null ? null : (JsonObject)JsonNode.Parse(acl)!,
    };

    private static string Write(ClassSchema schema, StoredObject obj, Auth auth, EncodeOptions options)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer)) new ObjectEncoder(Settings).Write(writer, auth, schema, obj, AccessPolicy.ProtectedFields(auth, schema), options);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static TheoryData<string, string?> Callers => new()
    {
        { "master", null }, { "owner", "u1" }, { "other", "u2" }, { "anonymous", null },
    };

    private static Auth Caller(string name) => name switch
    {
        "master" => Auth.Master,
        "owner" => new Auth { UserId = "u1", SessionToken = "r:one", Roles = new HashSet<string> { "Managers" } },
        "other" => new Auth { UserId = "u2", SessionToken = "r:two" },
        _ => Auth.Anonymous,
    };

    [Theory]
    [MemberData(nameof(Callers))]
    public void stored_text_and_tree_give_the_same_answer(string caller, string? _)
    {
        // "secret" protected from everyone but the user named by "owner" (a userField scope), which needs the tree.
        var clp = JsonNode.Parse("""{"protectedFields":{"*":["secret","tags"],"userField:owner":["tags"]}}""")!.AsObject();
        foreach (var (schema, protectedSchema) in new[] { (Deal(), false), (Deal(clp), true) })
        foreach (var options in new[] { default, new EncodeOptions(ServerUrl: "https://api.example.com/parse"), new EncodeOptions(AsIncluded: true), new EncodeOptions(ClassName: "Deal") })
        foreach (var acl in new[] { StoredAcl, null })
        {
            var auth = Caller(caller);
            var fromText = Write(schema, FromText("Deal", StoredData, acl), auth, options);
            var fromTree = Write(schema, FromTree("Deal", StoredData, acl), auth, options);
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(fromText), JsonNode.Parse(fromTree)), $"{caller} {options}:\n{fromText}\n{fromTree}");

            var answer = JsonNode.Parse(fromText)!.AsObject();
            Assert.DoesNotContain(answer, kv => kv.Key.StartsWith('_') && kv.Key != "__type");
            Assert.Equal("Relation", answer["members"]?["__type"]?.GetValue<string>());
            Assert.Equal(options.ServerUrl is null ? "/files/crm/logo%20one.png" : "https://api.example.com/parse/files/crm/logo%20one.png",
                answer["logo"]?["url"]?.GetValue<string>());
            Assert.EndsWith("/files/crm/b.txt", answer["attachments"]![2]!["nested"]!["url"]!.GetValue<string>());
            Assert.EndsWith("/files/crm/c.txt", answer["meta"]!["file"]!["url"]!.GetValue<string>());
            Assert.EndsWith("/files/crm/d.txt", answer["undeclared"]!["url"]!.GetValue<string>());
            Assert.Equal("Ünïcode \"quoted\" <b>&</b> 😀", answer["title"]!.GetValue<string>());
            // "*" hides secret and tags; the userField scope narrows that to tags for the user "owner" names (u1).
            Assert.Equal(!protectedSchema || caller is "master" or "owner", answer.ContainsKey("secret"));
            Assert.Equal(!protectedSchema || caller is "master", answer.ContainsKey("tags"));
            Assert.Equal(acl is not null, answer.ContainsKey("ACL"));
            Assert.Equal(options.AsIncluded ? "Object" : null, answer["__type"]?.GetValue<string>());
        }
    }

    [Theory]
    [MemberData(nameof(Callers))]
    public void users_never_show_passwords_and_show_auth_data_and_the_token_to_themselves(string caller, string? _)
    {
        var schema = ClassSchema.Create("_User", new Dictionary<string, FieldDefinition>
        {
            ["username"] = new(FieldType.String), ["password"] = new(FieldType.String), ["authData"] = new(FieldType.Object),
        });
        const string data = """{"username":"ann","password":"plain?","authData":{"entra":{"id":"x"}},"sessionToken":"r:stale","_hashed_password":"$2b$"}""";
        var auth = Caller(caller);
        var fromText = JsonNode.Parse(Write(schema, FromText("_User", data, null, objectId: "u1"), auth, default))!.AsObject();
        var fromTree = JsonNode.Parse(Write(schema, FromTree("_User", data, null, objectId: "u1"), auth, default))!.AsObject();
        Assert.True(JsonNode.DeepEquals(fromText, fromTree), $"{fromText}\n{fromTree}");
        Assert.False(fromText.ContainsKey("password"));
        Assert.False(fromText.ContainsKey("_hashed_password"));
        Assert.Equal(caller is "master" or "owner", fromText.ContainsKey("authData"));
        Assert.Equal(caller == "owner" ? "r:one" : null, fromText["sessionToken"]?.GetValue<string>());
    }
}
