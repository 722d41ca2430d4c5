// One mono process, many separate compilations: mcs.exe loaded as a library and called once
// per sample (Mono.CSharp.CompilerCallableEntryPoint.InvokeCompiler), so every sample is its
// own assembly that sees only the UnityEngine reference, without a mono start-up per sample.
// Protocol: each stdin line is "SOURCE<TAB>OUT.dll<TAB>extra mcs args..."; the compiler's
// messages are written to stdout, then a line "\u0001END <ok>".
using System;
using System.IO;
using System.Reflection;

static class CompileServer
{
    static int Main(string[] args)
    {
        var mcs = Assembly.LoadFrom(args[0]);
        var entry = mcs.GetType("Mono.CSharp.CompilerCallableEntryPoint")
                       .GetMethod("InvokeCompiler", new[] { typeof(string[]), typeof(TextWriter) });
        var stub = args[1];
        var stdout = new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = false };
        string line;
        while ((line = Console.In.ReadLine()) != null)
        {
            var p = line.Split('\t');
            var argv = new System.Collections.Generic.List<string> {
                "-target:library", "-nowarn:0169,0649,0414,0219,0108,0114", "-r:" + stub, "-out:" + p[1] };
            for (int i = 2; i < p.Length; i++) if (p[i].Length > 0) argv.Add(p[i]);
            argv.Add(p[0]);
            var messages = new StringWriter();
            bool ok;
            try { ok = (bool)entry.Invoke(null, new object[] { argv.ToArray(), messages }); }
            catch (Exception e) { ok = false; messages.WriteLine(p[0] + "(1,1): error CS0000: compiler crashed: " + (e.InnerException ?? e).Message.Replace('\n', ' ')); }
            stdout.Write(messages.ToString());
            stdout.Write("\u0001END " + (ok ? "1" : "0") + "\n");
            stdout.Flush();
        }
        return 0;
    }
}
