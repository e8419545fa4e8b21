using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Crm.Functions.Benchmarks [-- --filter '*Query*']
// dotnet run -c Release --project bench/Crm.Functions.Benchmarks -- --verify-cpu [N]   (CPU ms per bcrypt verification)
if (args is ["--verify-cpu", ..])
{
    Crm.Functions.Benchmarks.VerifyCpu.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 40);
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(Crm.Functions.Benchmarks.QueryBenchmarks).Assembly).Run(args);
