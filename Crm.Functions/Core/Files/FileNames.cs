using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Crm.Functions.Core.Files;

/// <summary>
/// Names of Parse files. A client names its upload (<c>proposal.pdf</c>); the server stores it as 32 random hex
/// characters, <c>_</c> and that name, so uploads never collide and a name cannot be guessed from another one.
/// Names keep to Parse's characters (letters, digits, <c>@ . ~ _ -</c> and spaces, not starting with a dot), which
/// also keeps them inside a folder or a container, and may not end with a dot or a space (Windows drops those, and
/// <c>evil.html.</c> would then open as HTML).
/// </summary>
internal static partial class FileNames
{
    public const int MaxLength = 128;

    [GeneratedRegex("^[_a-zA-Z0-9][a-zA-Z0-9@. ~_-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex Allowed();

    /// <summary>Whether a client may name a file so; 122 otherwise.</summary>
    public static bool IsValid(string name) =>
        name.Length is > 0 and <= MaxLength && Allowed().IsMatch(name) && !name.EndsWith('.') && !name.EndsWith(' ');

    /// <summary>Whether a name can be a stored name (the random prefix and the client's name).</summary>
    public static bool IsStoredName(string name) =>
        name.Length is > 0 and <= MaxLength + 33 && Allowed().IsMatch(name) && !name.EndsWith('.') && !name.EndsWith(' ');

    /// <summary>A new stored name for a client's name.</summary>
    public static string NewStoredName(string name) => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)) + "_" + name;

    /// <summary>The extension without its dot, lower case; empty when there is none.</summary>
    public static string Extension(string name)
    {
        var dot = name.LastIndexOf('.');
        return dot < 0 || dot == name.Length - 1 ? "" : name[(dot + 1)..].ToLowerInvariant();
    }
}
