using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Storage.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace AgeGroupAnomaly.PostgreSqlWorker;

/// <summary>
/// A small, quick measurement of the store-bound figures, for the PostgreSQL store and for SQLite on
/// the same data: samples inserted per second (batches and one by one), samples read per second,
/// a cold model load, and a cached score (which should not depend on the store). Also compares the
/// two embedding layouts the PostgreSQL store could use (real[] and bytea).
/// </summary>
internal static class Bench
{
    public static async Task<int> RunAsync(Dictionary<string, string> o)
    {
        string work = o["work"];
        int rows = int.Parse(o.GetValueOrDefault("rows", "5000"), CultureInfo.InvariantCulture);
        int dimension = int.Parse(o.GetValueOrDefault("dimension", "832"), CultureInfo.InvariantCulture);
        Directory.CreateDirectory(work);
        Console.WriteLine($"rows {rows} x {dimension} floats; {Environment.ProcessorCount} cores");

        await using (PostgresModelStoreHolder pg = new(Instance.Store(o["schema"])))
        {
            await MeasureAsync("postgresql", pg.Store, Path.Combine(work, "pg-checkpoints"), rows, dimension);
        }

        using (var sqlite = new SqliteModelStore(Path.Combine(work, "bench.db")))
        {
            await MeasureAsync("sqlite", sqlite, Path.Combine(work, "sqlite-checkpoints"), rows, dimension);
        }

        await LayoutAsync(o["schema"], rows, dimension);
        return 0;
    }

    private sealed class PostgresModelStoreHolder(AgeGroupAnomaly.Storage.PostgreSql.PostgresModelStore store) : IAsyncDisposable
    {
        public AgeGroupAnomaly.Storage.PostgreSql.PostgresModelStore Store { get; } = store;

        public ValueTask DisposeAsync() => Store.DisposeAsync();
    }

    private static async Task MeasureAsync(string name, IModelStore store, string checkpoints, int rows, int dimension)
    {
        var random = new Random(1);
        NewSample[] samples = [.. Enumerable.Range(0, rows).Select(i => new NewSample(5 + (i % 3), Instance.Embedding(random, dimension, 5 + (i % 3))))];

        var watch = Stopwatch.StartNew();
        for (int i = 0; i < rows; i += 500)
        {
            await store.AddSamplesAsync(samples[i..Math.Min(rows, i + 500)]);
        }

        double batched = rows / watch.Elapsed.TotalSeconds;
        watch.Restart();
        for (int i = 0; i < 200; i++)
        {
            await store.AddSampleAsync(samples[i]);
        }

        double single = 200 / watch.Elapsed.TotalSeconds;
        watch.Restart();
        int read = (await store.GetSamplesAsync(0, 150)).Count;
        double readRate = read / watch.Elapsed.TotalSeconds;

        using var manager = Instance.Manager(store, checkpoints, Instance.Training with { HiddenSizes = [256, 128, 64], Epochs = 1 });
        await manager.TrainAgeGroupModelAsync(5, 5);
        float[] probe = Instance.Embedding(random, dimension, 5);
        var cold = new List<double>();
        for (int i = 0; i < 20; i++)
        {
            manager.ClearModelCache();
            watch.Restart();
            await manager.ScoreAsync(probe, 5);
            cold.Add(watch.Elapsed.TotalMilliseconds);
        }

        for (int i = 0; i < 2000; i++)
        {
            await manager.ScoreAsync(probe, 5); // warm-up
        }

        var cached = new double[20_000];
        for (int i = 0; i < cached.Length; i++)
        {
            long start = Stopwatch.GetTimestamp();
            await manager.ScoreAsync(probe, 5);
            cached[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        cold.Sort();
        Array.Sort(cached);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name}: insert {batched:0} samples/s in batches of 500, {single:0} samples/s one by one; read {readRate:0} samples/s; cold load + first score {cold[cold.Count / 2]:0.00} ms median of 20; cached score p50 {cached[cached.Length / 2]:0.0} us, p99 {cached[(int)(cached.Length * 0.99)]:0.0} us"));
    }

    /// <summary>real[] against bytea for the embedding column: bytes on disk, COPY in, read back.</summary>
    private static async Task LayoutAsync(string schema, int rows, int dimension)
    {
        var random = new Random(2);
        float[][] embeddings = [.. Enumerable.Range(0, rows).Select(_ => Instance.Embedding(random, dimension, 5))];
        var builder = new NpgsqlConnectionStringBuilder(Environment.GetEnvironmentVariable("MMLIB_POSTGRES")) { SearchPath = schema };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        foreach ((string label, string type, NpgsqlDbType dbType) in new[] { ("real[]", "real[]", NpgsqlDbType.Array | NpgsqlDbType.Real), ("bytea", "bytea", NpgsqlDbType.Bytea), ("bytea, storage external", "bytea", NpgsqlDbType.Bytea) })
        {
            string table = "layout_" + (label.Length > 7 ? "bytea_external" : type == "bytea" ? "bytea" : "real");
            await Execute(connection, $"DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (id bigint PRIMARY KEY, embedding {type} NOT NULL)");
            if (label.Length > 7)
            {
                await Execute(connection, $"ALTER TABLE {table} ALTER COLUMN embedding SET STORAGE EXTERNAL");
            }

            var watch = Stopwatch.StartNew();
            await using (NpgsqlBinaryImporter writer = await connection.BeginBinaryImportAsync($"COPY {table} (id, embedding) FROM STDIN (FORMAT BINARY)"))
            {
                for (int i = 0; i < rows; i++)
                {
                    await writer.StartRowAsync();
                    await writer.WriteAsync((long)i, NpgsqlDbType.Bigint);
                    if (type == "bytea")
                    {
                        await writer.WriteAsync(MemoryMarshal.AsBytes(embeddings[i].AsSpan()).ToArray(), dbType);
                    }
                    else
                    {
                        await writer.WriteAsync(embeddings[i], dbType);
                    }
                }

                await writer.CompleteAsync();
            }

            double write = rows / watch.Elapsed.TotalSeconds;
            watch.Restart();
            long values = 0;
            await using (var command = new NpgsqlCommand($"SELECT embedding FROM {table} ORDER BY id", connection))
            await using (NpgsqlDataReader reader = await command.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    values += type == "bytea" ? MemoryMarshal.Cast<byte, float>(reader.GetFieldValue<byte[]>(0)).ToArray().Length : reader.GetFieldValue<float[]>(0).Length;
                }
            }

            double readRate = rows / watch.Elapsed.TotalSeconds;
            long bytes = (long)(await Scalar(connection, $"SELECT pg_total_relation_size('{table}')"))!;
            decimal perValue = (decimal)(await Scalar(connection, $"SELECT avg(pg_column_size(embedding)) FROM {table}"))!;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"layout {label}: column {perValue:0} bytes per embedding, table {bytes / 1e6:0.00} MB; COPY in {write:0} rows/s; read back {readRate:0} rows/s ({values} values)"));
            await Execute(connection, $"DROP TABLE {table}");
        }
    }

    private static async Task Execute(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<object?> Scalar(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
