using System.Collections;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using AgeGroupAnomaly.Modeling;
using AgeGroupAnomaly.Native;
using Razorvine.Pickle;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace AgeGroupAnomaly.Import;

/// <summary>What a <c>.pt</c> file held: the weights, the form they came in and the keys beside them that were not used.</summary>
/// <param name="Weights">The weights, as the original architecture inferred from the tensors' names and shapes.</param>
/// <param name="Form">How the file held them, for logs and the model's record.</param>
/// <param name="IgnoredKeys">Keys of a wrapping dict other than its state dict (an epoch, a threshold), sorted.</param>
internal sealed record ImportedStateDict(ModelWeights Weights, string Form, IReadOnlyList<string> IgnoredKeys);

/// <summary>
/// Reads a state dict written by <c>torch.save</c> with TorchSharp.PyBridge and turns it into
/// <see cref="ModelWeights"/> of the original service's autoencoder. Everything about the file is
/// checked before a tensor is used: its form (zip, not a legacy pickle, a TorchScript archive or a
/// whole pickled module), then every tensor's name, dtype and shape against the architecture its
/// keys describe, then the values. Every problem is a <see cref="ModelLoadingException"/> whose
/// message names the file and the tensor; no TorchSharp or pickle error escapes.
/// </summary>
internal static class PyTorchStateDictReader
{
    /// <summary>The largest file read: far above any model of this kind (the original's 832-input model is about 2 MB).</summary>
    public const long MaxFileBytes = 1L << 30;

    /// <summary>The dropout the original service used; a state dict does not hold it, and scoring does not use it.</summary>
    public const double OriginalDropout = 0.1;

    /// <summary>Keys of a wrapping dict that hold the state dict, in the order they are looked for.</summary>
    private static readonly string[] StateDictKeys = ["state_dict", "model_state_dict"];

    /// <summary>Reads the file's bytes; a missing, oversized or unreadable file is a <see cref="ModelLoadingException"/> naming it.</summary>
    public static async Task<byte[]> ReadFileAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            var file = new FileInfo(path);
            if (!file.Exists)
            {
                throw new ModelLoadingException(null, Directory.Exists(path) ? ModelLoadFailure.InvalidPath : ModelLoadFailure.MissingFile, $"PyTorch file '{path}' {(Directory.Exists(path) ? "is a directory" : "does not exist")}.");
            }

            if (file.Length > MaxFileBytes)
            {
                throw new ModelLoadingException(null, ModelLoadFailure.TooLarge, string.Create(CultureInfo.InvariantCulture, $"PyTorch file '{path}' has {file.Length} bytes, more than the {MaxFileBytes} an autoencoder state dict may have; it is not read."));
            }

            return await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ModelLoadingException(null, ModelLoadFailure.Unreadable, $"PyTorch file '{path}' could not be read: {ex.Message}", ex);
        }
    }

    /// <summary>Turns the bytes of a <c>torch.save</c> file into weights, after checking form, names, dtypes, shapes and values.</summary>
    /// <param name="bytes">The file's bytes.</param>
    /// <param name="source">The file's name, for messages.</param>
    public static ImportedStateDict Read(byte[] bytes, string source)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        CheckContainer(bytes, source);
        TorchRuntime.EnsureAvailable(); // PyBridge rebuilds tensors with TorchSharp

        // Every tensor PyBridge creates (the state dict's and any beside it) is freed when the scope ends.
        using DisposeScope scope = torch.NewDisposeScope();
        Hashtable root = Unpickle(bytes, source);
        (Hashtable stateDict, string form, IReadOnlyList<string> ignored) = FindStateDict(root, source);
        ModelWeights weights = ToWeights(stateDict, source);
        return new ImportedStateDict(weights, form, ignored);
    }

    /// <summary>Refuses the forms PyBridge cannot read, each by name, before any unpickling.</summary>
    private static void CheckContainer(byte[] bytes, string source)
    {
        bool zip = bytes.Length >= 4 && bytes[0] == (byte)'P' && bytes[1] == (byte)'K' && bytes[2] == 3 && bytes[3] == 4;
        if (!zip)
        {
            // torch.save(..., _use_new_zipfile_serialization=False) starts with a pickled magic number: PROTO (0x80).
            throw bytes.Length >= 2 && bytes[0] == 0x80
                ? Unsupported(source, "it is a legacy (non-zip) torch.save file, written with _use_new_zipfile_serialization=False or by PyTorch before 1.6, which this importer does not read; load it in Python and save it again with torch.save(model.state_dict(), path)")
                : Unsupported(source, "it is not a torch.save file (neither a zip archive nor a legacy pickle); give the file written by torch.save(model.state_dict(), path)");
        }

        try
        {
            using var archive = new ZipArchive(new MemoryStream(bytes, writable: false), ZipArchiveMode.Read);
            string[] names = [.. archive.Entries.Select(e => e.FullName)];
            if (names.Any(n => n.EndsWith("/constants.pkl", StringComparison.Ordinal) || n.Contains("/code/", StringComparison.Ordinal)))
            {
                throw Unsupported(source, "it is a TorchScript archive (torch.jit.save or ScriptModule.save), not a state dict; in Python save model.state_dict() with torch.save instead");
            }

            ZipArchiveEntry pickle = archive.Entries.FirstOrDefault(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal))
                ?? throw Unsupported(source, "it is a zip archive without data.pkl, so not a file written by torch.save");
            using var text = new MemoryStream();
            using (Stream data = pickle.Open())
            {
                data.CopyTo(text);
            }

            // A pickled module names its classes in GLOBAL opcodes ('c' + "torch.nn.modules.linear\nLinear\n"; torch.save
            // pickles with protocol 2); a state dict names none. Parameters without a module are caught while unpickling.
            if (text.GetBuffer().AsSpan(0, (int)text.Length).IndexOf("ctorch.nn.modules."u8) >= 0)
            {
                throw WholeModule(source);
            }
        }
        catch (InvalidDataException ex)
        {
            throw Unsupported(source, $"it is a damaged zip archive ({ex.Message})", ex);
        }
    }

    private static Hashtable Unpickle(byte[] bytes, string source)
    {
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            return PyTorchUnpickler.UnpickleStateDict(stream, leaveOpen: true);
        }
        catch (NotImplementedException ex) when (ex.Message.Contains("entire model", StringComparison.Ordinal))
        {
            throw WholeModule(source, ex); // PyBridge meets nn.Parameter objects, which a plain state dict never holds
        }
        catch (PickleException ex)
        {
            throw Unsupported(source, $"it holds a Python value this importer cannot rebuild, for example a numpy array or scalar beside the state dict ({ex.Message}); keep only tensors and plain numbers, strings and lists in the saved dict", ex);
        }
        catch (InvalidCastException ex)
        {
            throw Unsupported(source, "it holds neither a state dict nor a dict with a 'state_dict' entry (the top-level object is not a dict); save model.state_dict()", ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            throw Unsupported(source, $"it could not be read as a torch.save state dict ({ex.GetType().Name}: {ex.Message})", ex);
        }
    }

    private static (Hashtable StateDict, string Form, IReadOnlyList<string> Ignored) FindStateDict(Hashtable root, string source)
    {
        foreach (string key in StateDictKeys)
        {
            if (root[key] is Hashtable inner)
            {
                string[] ignored = [.. root.Keys.Cast<object>().Select(KeyText).Where(k => k != key).Order(StringComparer.Ordinal)];
                return (inner, $"a dict holding the state dict under '{key}'", ignored);
            }
        }

        if (root.Count > 0 && root.Values.Cast<object?>().All(v => v is Tensor))
        {
            return (root, "a state dict", []);
        }

        string keys = string.Join(", ", root.Keys.Cast<object>().Select(KeyText).Order(StringComparer.Ordinal).Take(10).Select(k => $"'{k}'"));
        throw Unsupported(
            source,
            root.Count == 0
                ? "it holds an empty dict; save model.state_dict()"
                : $"it holds a dict that is neither a state dict (not all of its values are tensors) nor a dict with a 'state_dict' entry; its keys are {keys}");
    }

    /// <summary>Infers the architecture from the encoder's weights, then checks every tensor against it and copies the values.</summary>
    private static ModelWeights ToWeights(Hashtable stateDict, string source)
    {
        var tensors = new SortedDictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in stateDict)
        {
            tensors[KeyText(entry.Key)] = entry.Value as Tensor
                ?? throw Layout(source, $"entry '{KeyText(entry.Key)}' of the state dict is a {PythonType(entry.Value)}, not a tensor");
        }

        ArchitectureInfo architecture = InferArchitecture(tensors, source);
        IReadOnlyList<LinearLayerShape> layers = architecture.Layers;
        var expected = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (LinearLayerShape layer in layers)
        {
            expected[layer.WeightName] = [layer.OutputSize, layer.InputSize];
            expected[layer.BiasName] = [layer.OutputSize];
        }

        var problems = new List<string>();
        foreach ((string name, long[] shape) in expected)
        {
            if (!tensors.TryGetValue(name, out Tensor? tensor))
            {
                problems.Add($"tensor '{name}' {Shape(shape)} is missing");
            }
            else if (!tensor.is_floating_point())
            {
                problems.Add($"tensor '{name}' holds {tensor.dtype} values, not floating-point numbers");
            }
            else if (!tensor.shape.AsSpan().SequenceEqual(shape))
            {
                problems.Add($"tensor '{name}' has shape {Shape(tensor.shape)} but the architecture needs {Shape(shape)}");
            }
        }

        foreach ((string name, Tensor tensor) in tensors.Where(t => !expected.ContainsKey(t.Key)))
        {
            problems.Add($"tensor '{name}' {Shape(tensor.shape)} is not part of the architecture");
        }

        if (problems.Count > 0)
        {
            string layerNames = string.Join(", ", layers.Select(l => l.Name));
            throw Layout(source, $"{string.Join("; ", problems)} (the encoder's tensors describe {architecture}, the original service's autoencoder with Linear layers {layerNames})");
        }

        var weights = new List<LayerWeights>(layers.Count);
        foreach (LinearLayerShape layer in layers)
        {
            weights.Add(new LayerWeights(Values(tensors[layer.WeightName], layer.WeightName, source), Values(tensors[layer.BiasName], layer.BiasName, source)));
        }

        return new ModelWeights(architecture, weights);
    }

    /// <summary>
    /// The original encoder is Linear, ReLU, Dropout per hidden size, so its Linear layers sit at
    /// encoder.0, encoder.3, …: the input size is encoder.0's in-features and each hidden size the
    /// out-features of one of them. The decoder's shapes follow and are checked, not inferred.
    /// </summary>
    private static ArchitectureInfo InferArchitecture(SortedDictionary<string, Tensor> tensors, string source)
    {
        const string first = "encoder.0.weight";
        if (!tensors.TryGetValue(first, out Tensor? firstWeight))
        {
            string present = string.Join(", ", tensors.Keys.Take(10).Select(k => $"'{k}'"));
            throw Layout(source, $"tensor '{first}' (the first Linear layer of the original service's encoder) is missing, so the architecture cannot be inferred; the state dict holds {(tensors.Count == 0 ? "no tensors" : present)}");
        }

        var hiddenSizes = new List<int>();
        for (int index = 0; tensors.TryGetValue($"encoder.{index}.weight", out Tensor? weight); index += 3)
        {
            if (weight.ndim != 2 || weight.shape.Any(d => d < 1 || d > int.MaxValue))
            {
                throw Layout(source, $"tensor 'encoder.{index}.weight' has shape {Shape(weight.shape)}; a Linear layer's weight is a non-empty [out, in] matrix");
            }

            hiddenSizes.Add((int)weight.shape[0]);
        }

        return new ArchitectureInfo((int)firstWeight.shape[1], [.. hiddenSizes], OriginalDropout);
    }

    private static float[] Values(Tensor tensor, string name, string source)
    {
        using Tensor asFloat = tensor.to_type(ScalarType.Float32);
        using Tensor contiguous = asFloat.contiguous();
        float[] values = contiguous.data<float>().ToArray();
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                throw new ModelLoadingException(
                    null,
                    ModelLoadFailure.NonFiniteWeights,
                    string.Create(CultureInfo.InvariantCulture, $"PyTorch file '{source}': tensor '{name}' holds {values[i]} at flat position {i}; a model's weights must be finite numbers."));
            }
        }

        return values;
    }

    private static string KeyText(object key) => key as string ?? Convert.ToString(key, CultureInfo.InvariantCulture) ?? "";

    private static string PythonType(object? value) => value switch
    {
        null => "None",
        string => "string",
        int or long => "int",
        double => "float",
        bool => "bool",
        Hashtable => "dict",
        ArrayList or object[] => "list",
        _ => value.GetType().Name,
    };

    private static string Shape(IEnumerable<long> shape) => $"[{string.Join(", ", shape)}]";

    private static ModelLoadingException WholeModule(string source, Exception? inner = null) =>
        Unsupported(source, "it holds a whole pickled module (torch.save(model)) or nn.Parameter objects (state_dict(keep_vars=True)), not a state dict of plain tensors; in Python save model.state_dict() with torch.save instead", inner);

    private static ModelLoadingException Unsupported(string source, string detail, Exception? inner = null) =>
        new(null, ModelLoadFailure.UnsupportedFormat, $"PyTorch file '{source}' cannot be imported: {detail}.", inner);

    private static ModelLoadingException Layout(string source, string detail) =>
        new(null, ModelLoadFailure.InvalidTensorLayout, $"PyTorch file '{source}' does not hold the original service's autoencoder: {detail}.");
}
