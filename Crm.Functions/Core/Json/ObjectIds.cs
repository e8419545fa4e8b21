using System.Security.Cryptography;

namespace Crm.Functions.Core.Json;

internal static class ObjectIds
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>A 10-character id from [A-Za-z0-9], as Parse makes them (≈ 59 bits of randomness).</summary>
    public static string New(int length = 10) => RandomNumberGenerator.GetString(Alphabet, length);

    /// <summary>The characters in byte order, so that ids of <see cref="NewTimeOrdered"/> sort as their times do.</summary>
    private const string Ordered = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// <summary>
    /// A 15-character id from [A-Za-z0-9]: the time in milliseconds (7 characters, ordered until the year 3500), then 48
    /// random bits. Records written in time order then land at the end of the store's primary-key index instead of on a
    /// random page of it: under a steady write load that is one page written per commit instead of one per record.
    /// </summary>
    public static string NewTimeOrdered(DateTimeOffset at)
    {
        Span<char> id = stackalloc char[15];
        var milliseconds = Math.Max(0, at.ToUnixTimeMilliseconds());
        for (var i = 6; i >= 0; i--)
        {
            id[i] = Ordered[(int)(milliseconds % Ordered.Length)];
            milliseconds /= Ordered.Length;
        }
        RandomNumberGenerator.GetItems(Ordered, id[7..]);
        return new string(id);
    }

    /// <summary>Session tokens are "r:" + 32 hex chars: the JS SDK only calls /logout for "r:" tokens.</summary>
    public static string NewSessionToken() => "r:" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public static bool IsValid(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= 64 && id.All(char.IsAsciiLetterOrDigit);
}
