using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Crm.Functions.Core.Users;

/// <summary>
/// bcrypt for passwords. A log-in is one bcrypt verification and little else, so its cost is the log-in's cost: where the
/// process can load the system's libxcrypt (<c>crypt_rn</c>, the C implementation Linux's own password files use) it
/// verifies and hashes with it — about a fifth less CPU per verification than the managed BCrypt.Net-Next on the
/// development machine (bench/Crm.Functions.Benchmarks, <c>PasswordBenchmarks</c>) — and with BCrypt.Net-Next
/// elsewhere (Windows, macOS, a Linux without libcrypt.so.1). Both read and write the same <c>$2a$</c> / <c>$2b$</c>
/// hashes at the same cost, so a store moves between hosts unchanged and nothing is weakened.
/// </summary>
internal static partial class Passwords
{
    // libxcrypt's struct crypt_data: crypt_rn writes its answer at the start (the "output" member) of this much memory.
    private const int CryptDataSize = 32768;

    // Passwords the C interface cannot carry exactly: a NUL ends a C string, and above 255 bytes the $2a$ variants of
    // bcrypt disagree (the historic length wrap). Such passwords take the managed path, which treats every byte alike.
    private const int NativeMaxBytes = 255;

    private static readonly bool UseNative = NativeAgreesWithManaged();
    private static readonly ConcurrentDictionary<int, string> DummyHashes = new();

    /// <summary>Whether this process verifies with libxcrypt (false: BCrypt.Net-Next).</summary>
    public static bool UsesLibxcrypt => UseNative;

    public static string Hash(string password, int cost)
    {
        var salt = BCrypt.Net.BCrypt.GenerateSalt(cost);
        return NativeCrypt(password, salt) ?? BCrypt.Net.BCrypt.HashPassword(password, salt);
    }

    /// <summary>Whether the password matches the hash; a malformed hash matches nothing.</summary>
    public static bool Verify(string password, string hash)
    {
        if (NativeCrypt(password, hash) is { } computed)
            return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(computed), Encoding.UTF8.GetBytes(hash));
        try
        {
            return BCrypt.Net.BCrypt.Verify(password, hash);
        }
        catch (Exception e) when (e is BCrypt.Net.SaltParseException or ArgumentException)
        {
            return false;
        }
    }

    /// <summary>
    /// A real hash of a random password at <paramref name="cost"/>: checking a log-in of an unknown user against it costs
    /// what a known user's check costs, so the time of the answer does not tell which usernames exist.
    /// </summary>
    public static string DummyHash(int cost) => DummyHashes.GetOrAdd(cost, c => Hash(Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)), c));

    /// <summary>crypt_rn(password, setting); null when the native path is unavailable or cannot carry this password.</summary>
    private static string? NativeCrypt(string password, string setting)
    {
        if (!UseNative || password.Contains('\0') || Encoding.UTF8.GetByteCount(password) > NativeMaxBytes) return null;
        var data = new byte[CryptDataSize];
        // A null answer is a setting libxcrypt does not accept (not a bcrypt hash): the managed path decides.
        if (crypt_rn(password, setting, data, data.Length) == 0) return null;
        var end = Array.IndexOf(data, (byte)0);
        var output = Encoding.UTF8.GetString(data, 0, end < 0 ? 0 : end);
        return output.StartsWith("$2", StringComparison.Ordinal) ? output : null;
    }

    /// <summary>
    /// The native path is used only if the library loads and computes exactly the managed hashes of a few known
    /// passwords: an unexpected libcrypt (another implementation, missing bcrypt) falls back instead of failing log-ins.
    /// </summary>
    private static bool NativeAgreesWithManaged()
    {
        try
        {
            var data = new byte[CryptDataSize];
            // Both variants, a multi-byte password, fresh salts at the lowest cost (a few milliseconds once per process).
            foreach (var (password, salt) in new[] { ("correct horse battery staple", BCrypt.Net.BCrypt.GenerateSalt(4, 'a')), ("pässwörd ✓", BCrypt.Net.BCrypt.GenerateSalt(4, 'b')) })
            {
                Array.Clear(data);
                if (crypt_rn(password, salt, data, data.Length) == 0) return false;
                var end = Array.IndexOf(data, (byte)0);
                if (Encoding.UTF8.GetString(data, 0, end) != BCrypt.Net.BCrypt.HashPassword(password, salt)) return false;
            }
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return false;
        }
    }

    // char *crypt_rn(const char *phrase, const char *setting, void *data, int size): the answer is written at the start of data.
    [LibraryImport("libcrypt.so.1", EntryPoint = "crypt_rn", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint crypt_rn(string phrase, string setting, [In, Out] byte[] data, int size);
}
