using System.Diagnostics;
using System.Reflection;

namespace AgeGroupAnomaly.Tests.PostgreSql.MultiProcess;

/// <summary>One run of the worker program (tests/ModelManager.Lib.PostgreSql.Worker): a separate OS process with its own ModelManager.</summary>
internal sealed class WorkerProcess : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _errors;

    private WorkerProcess(Process process)
    {
        _process = process;
        _errors = process.StandardError.ReadToEndAsync();
    }

    public static string Path =>
        typeof(WorkerProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "WorkerPath").Value!;

    public int Id => _process.Id;

    public StreamReader Output => _process.StandardOutput;

    public static WorkerProcess Start(params string[] arguments) => StartOn(null, arguments);

    /// <summary>Starts the worker; with <paramref name="cpu"/>, pinned to that one CPU (with <c>taskset</c>) from its first instruction, every thread included.</summary>
    public static WorkerProcess StartOn(int? cpu, params string[] arguments)
    {
        var start = new ProcessStartInfo(cpu is null ? "dotnet" : "taskset")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (cpu is not null)
        {
            start.ArgumentList.Add("--cpu-list");
            start.ArgumentList.Add(cpu.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
            start.ArgumentList.Add("dotnet");
        }

        start.ArgumentList.Add(Path);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment[PostgresTestDatabase.Variable] = PostgresTestDatabase.ConnectionString;
        return new WorkerProcess(Process.Start(start)!);
    }

    /// <summary>Writes one line to the process's standard input and returns the line it answers.</summary>
    public async Task<string> AskAsync(string question, CancellationToken guard)
    {
        await _process.StandardInput.WriteLineAsync(question.AsMemory(), guard);
        await _process.StandardInput.FlushAsync(guard);
        return await _process.StandardOutput.ReadLineAsync(guard) ?? throw new InvalidOperationException("the process ended without answering");
    }

    /// <summary>Writes one line to the process's standard input.</summary>
    public async Task SayAsync(string line, CancellationToken guard)
    {
        await _process.StandardInput.WriteLineAsync(line.AsMemory(), guard);
        await _process.StandardInput.FlushAsync(guard);
    }

    /// <summary>Waits for the process's "ready" line.</summary>
    public async Task ReadyAsync(CancellationToken guard)
    {
        string? line;
        do
        {
            line = await _process.StandardOutput.ReadLineAsync(guard) ?? throw new InvalidOperationException("the process ended before it was ready: " + await _errors);
        }
        while (line != "ready");
    }

    /// <summary>Closes standard input (the serve mode's signal to stop).</summary>
    public void CloseInput() => _process.StandardInput.Close();

    /// <summary>SIGKILL: no handler runs, nothing is flushed or rolled back by the process itself.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>Waits for the exit (the token is a liveness guard) and returns the exit code and standard error.</summary>
    public async Task<(int ExitCode, string Errors)> WaitAsync(CancellationToken guard)
    {
        try
        {
            await _process.WaitForExitAsync(guard);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw;
        }

        return (_process.ExitCode, await _errors);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }
}
