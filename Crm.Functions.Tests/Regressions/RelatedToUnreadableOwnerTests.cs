using System.Net;
using System.Text.Json.Nodes;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Issue 17 item 10: <c>$relatedTo</c> listed a relation's members without checking that the caller may read the
/// object holding the relation (the members of another user's private role were listed).
/// </summary>
public sealed class RelatedToUnreadableOwnerTests(FastServerFixture fixture) : IClassFixture<FastServerFixture>
{
    private static JsonObject RelatedTo(string className, string objectId, string key) => new()
    {
        ["$relatedTo"] = new JsonObject { ["object"] = Wire.PointerTo(className, objectId), ["key"] = key },
    };

    [Fact]
    public async Task members_of_a_private_role_are_listed_only_to_callers_who_can_read_the_role()
    {
        using var alice = fixture.Server.Client();
        var (aliceId, _) = await alice.SignUpAsync(Wire.Unique("alice"));
        using var carol = fixture.Server.Client();
        var (carolId, _) = await carol.SignUpAsync(Wire.Unique("carol"));
        // Carol's user object is public: only the private role may hide that she is in it.
        (await carol.PutAsync($"users/{carolId}", new JsonObject { ["ACL"] = new JsonObject { ["*"] = new JsonObject { ["read"] = true } } }))
            .EnsureStatus(HttpStatusCode.OK);
        using var master = fixture.Server.Client().AsMaster();
        var roleId = (await master.PostAsync("roles", new JsonObject
        {
            ["name"] = Wire.Unique("Private"),
            ["ACL"] = new JsonObject { [aliceId] = new JsonObject { ["read"] = true } },
            ["users"] = Wire.Op("AddRelation", Wire.PointerTo("_User", carolId)),
        })).EnsureStatus(HttpStatusCode.Created).Json!["objectId"]!.GetValue<string>();

        using var bob = fixture.Server.Client();
        await bob.SignUpAsync(Wire.Unique("bob"));
        var members = RelatedTo("_Role", roleId, "users");
        Assert.Empty(await bob.IdsAsync("_User", members));
        Assert.Equal(0, await bob.CountAsync("_User", members));
        using var anonymous = fixture.Server.Client();
        Assert.Empty(await anonymous.IdsAsync("_User", members));

        Assert.Equal([carolId], await alice.IdsAsync("_User", members));
        Assert.Equal([carolId], await master.IdsAsync("_User", members));
    }

    [Fact]
    public async Task a_relation_of_an_object_the_caller_cannot_read_is_empty_also_inside_a_sub_query()
    {
        var className = Wire.Unique("Team");
        using var owner = fixture.Server.Client();
        var (ownerId, _) = await owner.SignUpAsync(Wire.Unique("owner"));
        using var master = fixture.Server.Client().AsMaster();
        var memberId = await master.CreateAsync(className + "Member", new JsonObject { ["name"] = "m" });
        var teamId = await master.CreateAsync(className, new JsonObject
        {
            ["ACL"] = new JsonObject { [ownerId] = new JsonObject { ["read"] = true, ["write"] = true } },
            ["members"] = Wire.Op("AddRelation", Wire.PointerTo(className + "Member", memberId)),
        });

        using var other = fixture.Server.Client();
        await other.SignUpAsync(Wire.Unique("other"));
        var members = RelatedTo(className, teamId, "members");
        Assert.Empty(await other.IdsAsync(className + "Member", members));
        Assert.Empty(await other.IdsAsync(className + "Member", new JsonObject { ["$or"] = new JsonArray(members, new JsonObject { ["name"] = "none" }) }));
        Assert.Equal([memberId], await owner.IdsAsync(className + "Member", members));
    }
}
