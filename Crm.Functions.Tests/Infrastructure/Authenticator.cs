using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Crm.Functions.Tests.Infrastructure;

/// <summary>
/// What an authenticator app does (RFC 6238: HMAC-SHA1, 6 digits, 30 s steps), written out from the RFC rather than
/// taken from the server's TOTP library, so a wrong algorithm, digit count or secret encoding on the server shows.
/// </summary>
public sealed class Authenticator
{
    private const string Base32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    public Authenticator(string? secret = null) => Secret = secret ?? NewSecret();

    /// <summary>Base32 of 20 random bytes (32 characters), as enrolment sends it.</summary>
    public string Secret { get; }

    public static string NewSecret() => RandomNumberGenerator.GetString(Base32Alphabet, 32);

    public string CodeAt(DateTimeOffset when)
    {
        var counter = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(counter, when.ToUnixTimeSeconds() / 30);
#pragma warning disable CA5350 // RFC 6238's default, which authenticator apps use; HMAC-SHA1 is not weakened by SHA-1 collisions.
        var hash = HMACSHA1.HashData(Decode(Secret), counter);
#pragma warning restore CA5350
        var offset = hash[^1] & 0x0f;
        var binary = BinaryPrimitives.ReadInt32BigEndian(hash.AsSpan(offset)) & 0x7fffffff;
        return (binary % 1_000_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);
    }

    private static byte[] Decode(string base32)
    {
        var bytes = new List<byte>();
        int buffer = 0, bits = 0;
        foreach (var c in base32.TrimEnd('='))
        {
            buffer = (buffer << 5) | Base32Alphabet.IndexOf(char.ToUpperInvariant(c), StringComparison.Ordinal);
            bits += 5;
            if (bits < 8) continue;
            bytes.Add((byte)(buffer >> (bits - 8)));
            bits -= 8;
        }
        return [.. bytes];
    }
}
