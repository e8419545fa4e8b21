using System.Diagnostics;
using Crm.Functions.Core.Users;

namespace Crm.Functions.Benchmarks;

/// <summary>
/// CPU milliseconds per bcrypt verification at cost 10, the server's way (<see cref="Passwords.Verify"/>): the floor of a
/// log-in, to set beside bench/run.sh's CPU ms per log-in (scenario f). CPU time rather than wall time (BenchmarkDotNet's
/// measure), since the machine is shared and a log-in's cost is reported as CPU. Two threads, as the server verifies
/// on both cores under the login load.
/// </summary>
internal static class VerifyCpu
{
    private const string Password = "correct horse battery staple";

    public static void Run(int verifications)
    {
        var hash = Passwords.Hash(Password, 10);
        if (!Passwords.Verify(Password, hash)) throw new InvalidOperationException("the password does not verify");
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        Parallel.For(0, verifications, new ParallelOptions { MaxDegreeOfParallelism = 2 }, _ =>
        {
            if (!Passwords.Verify(Password, hash)) throw new InvalidOperationException("the password does not verify");
        });
        wall.Stop();
        process.Refresh();
        var cpu = (process.TotalProcessorTime - cpu0).TotalMilliseconds;
        Console.WriteLine($"bcrypt cost 10, {(Passwords.UsesLibxcrypt ? "libxcrypt crypt_rn" : "BCrypt.Net-Next")}: {verifications} verifications, "
            + $"{cpu / verifications:F2} CPU ms each ({wall.Elapsed.TotalMilliseconds / verifications * 2:F2} wall ms each per thread); "
            + $"load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
    }
}
