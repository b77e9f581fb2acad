using System.Text.RegularExpressions;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests;

/// <summary>The rooms of src/ModelManager.Lib depend only on the rooms before them (no storage → training, no training → scoring).</summary>
public sealed partial class RoomDependencyTests
{
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["Native"] = [],
        ["Telemetry"] = [],
        ["Modeling"] = ["Native"],
        ["Compute"] = ["Modeling"],
        ["Checkpoints"] = ["Modeling"],
        ["Training"] = ["Native", "Modeling", "Compute"],
        ["Storage"] = ["Compute"],
        ["Scoring"] = ["Modeling", "Compute", "Storage", "Training", "Telemetry"],
        ["Import"] = ["Native", "Modeling", "Compute", "Training"],
    };

    [TestCaseSource(nameof(Rooms))]
    public void Room_RefersOnlyToTheRoomsBeforeIt(string room)
    {
        string folder = Path.Combine(TestEnvironment.RepositoryRoot, "src", "ModelManager.Lib", room);
        var used = new HashSet<string>();
        foreach (string file in Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories))
        {
            foreach (Match match in RoomReference().Matches(File.ReadAllText(file)))
            {
                used.Add($"{match.Groups[1].Value} (in {Path.GetFileName(file)})");
            }
        }

        used.Where(u => u.Split(' ')[0] != room && !Allowed[room].Contains(u.Split(' ')[0])).Should().BeEmpty($"{room} may only use {string.Join(", ", Allowed[room])}");
    }

    private static string[] Rooms() => [.. Allowed.Keys];

    // "using AgeGroupAnomaly.Room", a fully qualified name, or a name relative to the root namespace ("Room.Type").
    [GeneratedRegex(@"(?:AgeGroupAnomaly\.|(?<![\w.]))(Native|Modeling|Compute|Checkpoints|Training|Storage|Scoring|Import|Management|Telemetry)(?:\.[A-Z]|\s*;)")]
    private static partial Regex RoomReference();
}
