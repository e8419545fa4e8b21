using System.Runtime.InteropServices;
using System.Text;
using Crm.Functions.Core.Users;

namespace Crm.Functions.Tests.Accounts;

/// <summary>
/// Passwords are hashed and verified with libxcrypt where it loads and with BCrypt.Net-Next elsewhere: every hash one
/// writes, the other must accept, so a store moves between hosts (and between the two paths) unchanged.
/// </summary>
public sealed class PasswordHashTests
{
    public static TheoryData<string> Samples => new()
    {
        "correct horse battery staple",
        "p",
        "pässwörd ✓ 密码 🔑",
        new string('a', 72),
        new string('a', 72) + "b", // bcrypt reads 72 bytes: both sides agree that the 73rd does not count
        new string('é', 100), // 200 bytes
        new string('x', 256), // above what the C path carries: the managed path
        "nul\0inside", // a C string would end at the NUL: the managed path
    };

    [Theory]
    [MemberData(nameof(Samples))]
    public void hashes_verify_across_both_implementations(string password)
    {
        var ours = Passwords.Hash(password, 4);
        Assert.Matches(@"^\$2[ab]\$04\$[./A-Za-z0-9]{53}$", ours);
        Assert.True(BCrypt.Net.BCrypt.Verify(password, ours));
        Assert.True(Passwords.Verify(password, ours));
        if (Encoding.UTF8.GetByteCount(password) < 72) Assert.False(Passwords.Verify(password + "!", ours));

        foreach (var revision in new[] { 'a', 'b' })
        {
            var managed = BCrypt.Net.BCrypt.HashPassword(password, BCrypt.Net.BCrypt.GenerateSalt(4, revision));
            Assert.True(Passwords.Verify(password, managed));
            Assert.False(Passwords.Verify("not " + password, managed));
        }
    }

    [Fact]
    public void libxcrypt_is_used_where_it_loads()
    {
        var loads = NativeLibrary.TryLoad("libcrypt.so.1", out var handle);
        if (loads) NativeLibrary.Free(handle);
        Assert.Equal(loads, Passwords.UsesLibxcrypt);
    }

    [Fact]
    public void a_malformed_hash_matches_nothing()
    {
        Assert.False(Passwords.Verify("anything", "not a bcrypt hash"));
        Assert.False(Passwords.Verify("anything", "$2a$04$short"));
        Assert.False(Passwords.Verify("", "$2a$04$" + new string('.', 53)));
    }

    [Fact]
    public void the_dummy_hash_has_the_configured_cost()
    {
        Assert.StartsWith("$2a$05$", Passwords.DummyHash(5));
        Assert.Same(Passwords.DummyHash(5), Passwords.DummyHash(5));
    }
}
