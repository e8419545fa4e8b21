using BenchmarkDotNet.Attributes;
using Crm.Functions.Core.Users;

namespace Crm.Functions.Benchmarks;

/// <summary>
/// One log-in's bcrypt verification at the production cost (10), by the server's password module (libxcrypt where it
/// loads) and by BCrypt.Net-Next alone: the choice in Core/Users/Passwords.cs rests on this comparison.
/// </summary>
public class PasswordBenchmarks
{
    private const string Password = "correct horse battery staple";
    private readonly string _hash = BCrypt.Net.BCrypt.HashPassword(Password, 10);

    [Benchmark(Baseline = true)]
    public bool BCryptNetNext() => BCrypt.Net.BCrypt.Verify(Password, _hash);

    [Benchmark]
    public bool ServerPasswords() => Passwords.Verify(Password, _hash);
}
