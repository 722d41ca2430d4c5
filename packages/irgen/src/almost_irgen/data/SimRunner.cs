// The behaviour checker's entry point: AlmostSim.Runner lives in the simulated UnityEngine.
static class SimRunnerMain
{
    static int Main(string[] args) { return AlmostSim.Runner.Main(args); }
}
