using Microsoft.Extensions.Logging;

namespace AgeGroupAnomaly.Tests;

/// <summary>Collects log entries in memory (event id, level, message) for tests that assert logging.</summary>
public sealed class ListLoggerFactory : ILoggerFactory, ILoggerProvider
{
    private readonly List<(EventId Id, LogLevel Level, string Message)> _entries = [];

    public IReadOnlyList<(EventId Id, LogLevel Level, string Message)> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new ListLogger(this);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class ListLogger(ListLoggerFactory owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (owner._entries)
            {
                owner._entries.Add((eventId, logLevel, formatter(state, exception)));
            }
        }
    }
}
