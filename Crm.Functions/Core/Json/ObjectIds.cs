using System.Security.Cryptography;

namespace Crm.Functions.Core.Json;

internal static class ObjectIds
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>A 10-character id from [A-Za-z0-9], as Parse makes them (≈ 59 bits of randomness).</summary>
    public static string New(int length = 10) => RandomNumberGenerator.GetString(Alphabet, length);

    /// <summary>Session tokens are "r:" + 32 hex chars: the JS SDK only calls /logout for "r:" tokens.</summary>
    public static string NewSessionToken() => "r:" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public static bool IsValid(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= 64 && id.All(char.IsAsciiLetterOrDigit);
}
