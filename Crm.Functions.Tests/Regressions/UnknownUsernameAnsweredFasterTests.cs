using System.Diagnostics;
using System.Net;
using Crm.Functions.Tests.Infrastructure;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// A log-in for an unknown username was checked against a bcrypt hash made at cost 10 whatever
/// Parse:Accounts:BcryptCost said. With a higher cost, an unknown username was answered several times faster than a
/// known one with a wrong password, so the time of the answer told which usernames exist. It is now checked against
/// a hash at the configured cost.
/// </summary>
public sealed class UnknownUsernameAnsweredFasterTests
{
    [Fact]
    public async Task an_unknown_username_takes_as_long_as_a_known_one_with_a_wrong_password()
    {
        // Cost 12 is four times cost 10: before the fix the unknown username took about a quarter of the time.
        using var server = new CrmServer(TestSettings.Fast(("Parse:Accounts:BcryptCost", "12"), ("Parse:Accounts:LockoutThreshold", "0")));
        using var client = server.Client();
        var username = Wire.Unique("known");
        await client.SignUpAsync(username);
        await TimedAsync(() => client.LogInAsync(Wire.Unique("nobody"), "wrong password"));

        // Interleaved, so whatever else loads the machine falls on both kinds alike.
        var known = new List<double>();
        var unknown = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            known.Add(await TimedAsync(() => client.LogInAsync(username, "wrong password")));
            unknown.Add(await TimedAsync(() => client.LogInAsync(Wire.Unique("nobody"), "wrong password")));
        }

        var ratio = Median(unknown) / Median(known);
        Assert.True(ratio > 0.6, $"unknown usernames answered in {ratio:P0} of a known one's time ({string.Join(", ", unknown)} vs {string.Join(", ", known)} ms)");
    }

    private static async Task<double> TimedAsync(Func<Task<ParseResponse>> logIn)
    {
        var clock = Stopwatch.StartNew();
        var response = await logIn();
        // Both kinds get the same answer: 101, "Invalid username/password."
        Assert.Equal(HttpStatusCode.NotFound, response.Status);
        Assert.Equal(101, response.Json!["code"]!.GetValue<int>());
        return clock.Elapsed.TotalMilliseconds;
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
}
