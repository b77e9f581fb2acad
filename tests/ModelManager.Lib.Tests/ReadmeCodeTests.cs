using System.Text.RegularExpressions;
using FluentAssertions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests;

/// <summary>Every C# block of the README compiles, as a program, against this build of the library.</summary>
public sealed partial class ReadmeCodeTests
{
    private static readonly Lazy<MetadataReference[]> References = new(() =>
    {
        // The runtime's assemblies and everything beside the tests (the library and its dependencies), one per name.
        string[] platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        return [.. platform.Concat(Directory.GetFiles(AppContext.BaseDirectory, "*.dll"))
            .GroupBy(Path.GetFileName, StringComparer.OrdinalIgnoreCase)
            .Select(g => MetadataReference.CreateFromFile(g.First()))];
    });

    // What a new console project (ImplicitUsings enabled, the SDK's default) adds to every file.
    private const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    private static readonly CSharpParseOptions Parse = new(LanguageVersion.Latest);

    [TestCaseSource(nameof(Blocks))]
    public void ReadmeBlock_Compiles(int line, string code)
    {
        CSharpCompilation compilation = CSharpCompilation.Create(
            $"ReadmeLine{line}",
            [CSharpSyntaxTree.ParseText(code, Parse), CSharpSyntaxTree.ParseText(ImplicitUsings, Parse)],
            References.Value,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));

        using var output = new MemoryStream();
        Microsoft.CodeAnalysis.Emit.EmitResult result = compilation.Emit(output);

        result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString())
            .Should().BeEmpty($"the README's C# block at line {line} must compile as a user would paste it");
    }

    private static IEnumerable<TestCaseData> Blocks()
    {
        string readme = File.ReadAllText(Path.Combine(TestEnvironment.RepositoryRoot, "README.md"));
        foreach (Match block in CSharpBlock().Matches(readme))
        {
            int line = readme[..block.Index].Count(c => c == '\n') + 1;
            yield return new TestCaseData(line, block.Groups[1].Value).SetArgDisplayNames($"line {line}");
        }
    }

    [GeneratedRegex(@"^```csharp\n(.*?)^```", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex CSharpBlock();
}
