using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace AgeGroupAnomaly.Storage.PostgreSql;

/// <summary>
/// 64-bit advisory lock keys, the same in every process (a hash of a readable name, never
/// <see cref="string.GetHashCode()"/>), scoped by schema so two stores in one database never share a lock.
/// </summary>
internal static class AdvisoryKeys
{
    public static long Migrations(string schema) => Of($"modelmanager/{schema}/migrations");

    public static long SampleWrites(string schema) => Of($"modelmanager/{schema}/samples");

    public static long ModelWrites(string schema) => Of($"modelmanager/{schema}/models");

    public static long Training(string schema, double ageMin, double ageMax) =>
        Of(string.Create(CultureInfo.InvariantCulture, $"modelmanager/{schema}/training/{ageMin:R}/{ageMax:R}"));

    private static long Of(string name) => BinaryPrimitives.ReadInt64LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes(name)));
}
