using System.Text.RegularExpressions;

namespace AgeGroupAnomaly.Storage.PostgreSql;

/// <summary>Settings of a <see cref="PostgresModelStore"/>.</summary>
public sealed partial class PostgresModelStoreOptions
{
    /// <summary>
    /// The Npgsql connection string, for example
    /// <c>Host=db;Port=5432;Database=drawings;Username=app;Password=…</c>. Every instance that should
    /// share models uses the same database and <see cref="Schema"/>.
    /// </summary>
    public string ConnectionString { get; set; } = string.Empty;

    /// <summary>
    /// The schema holding the store's tables, created on first use when missing. Instances with
    /// different schemas in one database are separate stores (their locks and notifications too).
    /// Lowercase letters, digits and underscores, starting with a letter or underscore.
    /// </summary>
    /// <value>The default is <c>public</c>.</value>
    public string Schema { get; set; } = "public";

    /// <summary>
    /// Whether the store keeps one connection listening for other instances' model changes
    /// (LISTEN/NOTIFY) once a <see cref="ModelManager"/> subscribes. Without it, other instances'
    /// changes are seen after <see cref="ModelManagerOptions.ActiveModelsRefreshInterval"/>.
    /// </summary>
    /// <value>The default is true.</value>
    public bool ListenForChanges { get; set; } = true;

    /// <summary>Throws when a setting is unusable, naming it.</summary>
    /// <exception cref="ArgumentException">The connection string is empty or the schema name is not allowed.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new ArgumentException("ConnectionString is empty; give the Npgsql connection string of the PostgreSQL database.", nameof(ConnectionString));
        }

        if (Schema is null || !SchemaName().IsMatch(Schema))
        {
            throw new ArgumentException($"Schema '{Schema}' is not allowed; use 1 to 63 lowercase letters, digits or underscores, starting with a letter or underscore.", nameof(Schema));
        }
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex SchemaName();
}
