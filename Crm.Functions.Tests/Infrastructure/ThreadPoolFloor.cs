using System.Runtime.CompilerServices;

namespace Crm.Functions.Tests.Infrastructure;

/// <summary>
/// The xunit runner and vstest each keep a thread-pool thread blocked for the whole run (waiting for the run to
/// end; polling the runner's socket). On a 2-core machine the pool's floor is 2 threads, so the in-process
/// servers could find no free worker until the pool's starvation detection let one more run: whole-process
/// stalls of 0.5–1 s, seen as 600–1100 ms outliers in the real-time latency test (a dump taken during one
/// showed idle workers held back with work queued). A higher floor removes this test-only starvation.
/// </summary>
internal static class ThreadPoolFloor
{
#pragma warning disable CA2255 // A module initializer is the one hook that runs before any test of this assembly.
    [ModuleInitializer]
    internal static void Raise()
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 8), Math.Max(io, 8));
    }
#pragma warning restore CA2255
}
