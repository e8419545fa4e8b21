using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Crm.Functions.Benchmarks [-- --filter '*Query*']
BenchmarkSwitcher.FromAssembly(typeof(Crm.Functions.Benchmarks.QueryBenchmarks).Assembly).Run(args);
