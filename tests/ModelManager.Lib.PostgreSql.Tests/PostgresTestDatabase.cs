using AgeGroupAnomaly.Storage.PostgreSql;
using Npgsql;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.PostgreSql;

/// <summary>
/// The PostgreSQL server the tests use: the connection string in MMLIB_POSTGRES (set by
/// <c>bash .ci/postgres …</c>, which CI runs). Without it the tests are ignored, saying how to run them.
/// Every test gets a schema of its own, dropped afterwards.
/// </summary>
internal static class PostgresTestDatabase
{
    public const string Variable = "MMLIB_POSTGRES";

    public static string ConnectionString
    {
        get
        {
            string? value = Environment.GetEnvironmentVariable(Variable);
            if (string.IsNullOrWhiteSpace(value))
            {
                Assert.Ignore($"No PostgreSQL server: set {Variable} to an Npgsql connection string, or run `bash .ci/postgres dotnet test tests/ModelManager.Lib.PostgreSql.Tests` to start one.");
            }

            return value!;
        }
    }

    public static string NewSchemaName() => "t_" + Guid.NewGuid().ToString("N");

    public static PostgresModelStore Store(string schema, bool listen = true) =>
        new(new PostgresModelStoreOptions { ConnectionString = ConnectionString, Schema = schema, ListenForChanges = listen });

    public static async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public static async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    public static Task DropSchemaAsync(string? schema) =>
        schema is null || string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(Variable))
            ? Task.CompletedTask // ignored before a schema existed
            : ExecuteAsync($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
}
