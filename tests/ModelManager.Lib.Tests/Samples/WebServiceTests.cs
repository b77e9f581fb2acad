using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Samples;

/// <summary>The WebService sample, started as a process on a loopback port and driven over HTTP as a client would.</summary>
[NonParallelizable]
public sealed class WebServiceTests : ProgramTestBase
{
    private const int Dimension = 12;

    [Test]
    public async Task WebService_AddTrainScoreActivateList_AndProblemDetailsForMistakes()
    {
        using Service service = await Service.StartAsync(Work);
        HttpClient http = service.Http;
        await AddSamplesAsync(http, age: 4, count: 40, seed: 1);

        (await http.PostAsJsonAsync("/score", new { age = 4, embedding = new float[Dimension] })).StatusCode.Should().Be(HttpStatusCode.NotFound, "no model yet");
        (await Problem(await http.PostAsJsonAsync("/models/train", new { ageMin = 9, ageMax = 10 }))).Should().Be((422, "Too few samples"));

        JsonElement first = await Json(await http.PostAsJsonAsync("/models/train", new { ageMin = 3, ageMax = 5 }));
        JsonElement score = await Json(await http.PostAsJsonAsync("/score", new { age = 4, embedding = TestData.Embeddings(1, Dimension, seed: 2)[0] }));
        score.GetProperty("modelId").GetGuid().Should().Be(first.GetProperty("id").GetGuid());
        score.GetProperty("reconstructionLoss").GetDouble().Should().BeGreaterThan(0);

        JsonElement batch = await Json(await http.PostAsJsonAsync("/score/batch", new { ages = new[] { 4.0, 5.0 }, embeddings = TestData.Embeddings(2, Dimension, seed: 3) }));
        batch.GetArrayLength().Should().Be(2);

        (await Problem(await http.PostAsJsonAsync("/score", new { age = 4, embedding = new float[3] }))).Should().Be((400, "Invalid embedding"));
        (await Problem(await http.PostAsJsonAsync("/score", new { age = -1, embedding = new float[Dimension] }))).Status.Should().Be(400);
        (await Problem(await http.PostAsync($"/models/{Guid.NewGuid()}/activate", null))).Should().Be((404, "Unknown model"));
        (await Problem(await http.PostAsJsonAsync("/models/train", new { ageMin = 4, ageMax = 4.5 }))).Should().Be((409, "Overlapping age range"));

        JsonElement second = await Json(await http.PostAsJsonAsync("/models/train", new { ageMin = 3, ageMax = 5 }));
        (await http.PostAsync($"/models/{first.GetProperty("id").GetGuid()}/activate", null)).StatusCode.Should().Be(HttpStatusCode.NoContent, "rolling back");
        JsonElement models = await Json(await http.GetAsync("/models"));
        models.EnumerateArray().Where(m => m.GetProperty("isActive").GetBoolean()).Select(m => m.GetProperty("id").GetGuid())
            .Should().Equal(first.GetProperty("id").GetGuid());
        models.GetArrayLength().Should().Be(2);
        second.GetProperty("id").GetGuid().Should().NotBe(first.GetProperty("id").GetGuid());
        JsonElement health = await Json(await http.GetAsync("/health"));
        health.GetProperty("status").GetString().Should().Be("Healthy");
        health.GetProperty("models").GetInt32().Should().Be(1, "the check loaded the one active model");
    }

    [Test]
    public async Task WebService_ABadSampleIsRejected_AndSamplesCanBeListedAndDeleted()
    {
        using Service service = await Service.StartAsync(Work);
        HttpClient http = service.Http;
        await AddSamplesAsync(http, age: 4, count: 3, seed: 1);

        (await Problem(await http.PostAsJsonAsync("/samples", new[] { new { age = 4, embedding = new float[100] } }))).Should().Be((400, "Invalid embedding"));
        JsonElement listed = await Json(await http.GetAsync("/samples?ageMin=0&ageMax=150"));
        listed.GetArrayLength().Should().Be(3, "the 100-value sample was not added");
        long first = listed[0].GetProperty("id").GetInt64();

        (await http.DeleteAsync($"/samples/{first}")).StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await Problem(await http.DeleteAsync($"/samples/{first}"))).Status.Should().Be(404);
        (await Json(await http.DeleteAsync("/samples?ageMin=4&ageMax=4"))).GetProperty("deleted").GetInt32().Should().Be(2);
        (await Json(await http.GetAsync("/samples?ageMin=0&ageMax=150"))).GetArrayLength().Should().Be(0);
    }

    [Test]
    public async Task WebService_RetrainWhileScoring_EveryScoreSucceedsWithTheOldOrTheNewModel()
    {
        using Service service = await Service.StartAsync(Work);
        HttpClient http = service.Http;
        await AddSamplesAsync(http, age: 4, count: 60, seed: 1);
        Guid old = (await Json(await http.PostAsJsonAsync("/models/train", new { ageMin = 3, ageMax = 5 }))).GetProperty("id").GetGuid();
        float[] probe = TestData.Embeddings(1, Dimension, seed: 5)[0];

        Task<HttpResponseMessage> retrain = http.PostAsJsonAsync("/models/train", new { ageMin = 3, ageMax = 5 });
        var seen = new List<Guid>();
        do
        {
            seen.Add((await Json(await http.PostAsJsonAsync("/score", new { age = 4, embedding = probe }))).GetProperty("modelId").GetGuid());
        }
        while (!retrain.IsCompleted);

        Guid fresh = (await Json(await retrain)).GetProperty("id").GetGuid();
        seen.Add((await Json(await http.PostAsJsonAsync("/score", new { age = 4, embedding = probe }))).GetProperty("modelId").GetGuid());
        seen.Should().OnlyContain(id => id == old || id == fresh);
        seen[^1].Should().Be(fresh, "an acknowledged retrain serves the new model at once");
    }

    [Test]
    [Platform("Linux")]
    public async Task WebService_SigtermDuringATraining_CancelsIt_ExitsCleanly_AndStoresNothingHalfWay()
    {
        using Service service = await Service.StartAsync(Work);
        HttpClient http = service.Http;
        await AddSamplesAsync(http, age: 4, count: 40, seed: 1);
        Guid kept = (await Json(await http.PostAsJsonAsync("/models/train", new { ageMin = 3, ageMax = 5, epochs = 3 }))).GetProperty("id").GetGuid();

        // A retrain of 100,000 epochs (minutes): only a cancellation can end it before the host's 30 s timeout.
        Task<HttpResponseMessage> retrain = http.PostAsJsonAsync("/models/train", new { ageMin = 3, ageMax = 5, epochs = 100_000 });
        await service.WaitForOutputAsync("AutoencoderTrainer[1000]", occurrences: 2); // the trainer logs each start: the retrain is running
        var stopwatch = Stopwatch.StartNew();
        service.Signal("TERM");
        await service.WaitForExitAsync();
        TestContext.Out.WriteLine($"exited {stopwatch.Elapsed.TotalSeconds:0.00} s after SIGTERM with a training running");

        service.ExitCode.Should().Be(0, "a graceful shutdown");
        service.Output.Should().Contain("was cancelled", "the host's stopping cancelled the training instead of waiting for it");
        HttpResponseMessage? answer = null;
        try
        {
            answer = await retrain;
        }
        catch (HttpRequestException)
        {
            // the connection closed with the service: no answer at all is fine too
        }

        (answer?.IsSuccessStatusCode ?? false).Should().BeFalse("the retrain did not complete");
        using var store = new AgeGroupAnomaly.Storage.Sqlite.SqliteModelStore(Path.Combine(Work, "web.db"));
        (await store.ListModelsAsync()).Select(m => m.Id).Should().Equal([kept], "the cancelled training recorded nothing");
        Directory.GetFiles(Path.Combine(Work, "ck")).Should().ContainSingle("and left no checkpoint file");
    }

    private static async Task AddSamplesAsync(HttpClient http, int age, int count, int seed)
    {
        object[] samples = [.. TestData.Embeddings(count, Dimension, seed, offset: age * 0.1f).Select(e => new { age, embedding = e })];
        (await http.PostAsJsonAsync("/samples", samples)).EnsureSuccessStatusCode();
    }

    private static async Task<JsonElement> Json(HttpResponseMessage response)
    {
        string body = await response.Content.ReadAsStringAsync();
        response.IsSuccessStatusCode.Should().BeTrue(body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static async Task<(int Status, string? Title)> Problem(HttpResponseMessage response)
    {
        response.Content.Headers.ContentType?.MediaType.Should().Be("application/problem+json");
        JsonElement problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        problem.GetProperty("status").GetInt32().Should().Be((int)response.StatusCode);
        return ((int)response.StatusCode, problem.GetProperty("title").GetString());
    }

    /// <summary>The sample as a child process on a free loopback port; stopped (and waited for) on dispose.</summary>
    private sealed class Service : IDisposable
    {
        private readonly Process _process;
        private readonly System.Text.StringBuilder _output;

        private Service(Process process, HttpClient http, System.Text.StringBuilder output)
        {
            _process = process;
            Http = http;
            _output = output;
        }

        public HttpClient Http { get; }

        public int ExitCode => _process.ExitCode;

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public async Task WaitForOutputAsync(string text, int occurrences = 1)
        {
            while (Output.Split(text).Length - 1 < occurrences)
            {
                _process.HasExited.Should().BeFalse($"the service exited before writing '{text}': {Output}");
                await Task.Delay(20); // polling for a line the service writes; only how soon we notice depends on time
            }
        }

        public void Signal(string signal)
        {
            using Process kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
            kill.WaitForExit();
        }

        public Task WaitForExitAsync() => _process.WaitForExitAsync();

        public static async Task<Service> StartAsync(string work)
        {
            int port = FreeLoopbackPort();
            var start = new ProcessStartInfo("dotnet")
            {
                WorkingDirectory = work,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string argument in new[]
            {
                TestEnvironment.ProgramPath("samples/WebService", "WebService"), "--urls", $"http://127.0.0.1:{port}",
                $"--Database={Path.Combine(work, "web.db")}", $"--ModelManager:CheckpointDirectory={Path.Combine(work, "ck")}",
                "--ModelManager:DefaultTrainingConfig:HiddenSizes:0=8", "--ModelManager:DefaultTrainingConfig:HiddenSizes:1=4",
                "--ModelManager:DefaultTrainingConfig:Epochs=20", "--ModelManager:DefaultTrainingConfig:EarlyStoppingPatience=1000000",
                "--Logging:LogLevel:AgeGroupAnomaly=Information",
            })
            {
                start.ArgumentList.Add(argument);
            }

            start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
            start.Environment["DOTNET_gcServer"] = "0";
            Process process = Process.Start(start)!;
            var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var output = new System.Text.StringBuilder();
            process.OutputDataReceived += (_, e) =>
            {
                lock (output)
                {
                    output.AppendLine(e.Data);
                }

                if (e.Data?.Contains("Now listening on", StringComparison.Ordinal) == true)
                {
                    listening.TrySetResult();
                }
            };
            process.ErrorDataReceived += (_, e) =>
            {
                lock (output)
                {
                    output.AppendLine(e.Data);
                }
            };
            process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException("the service exited: " + output));
            process.EnableRaisingEvents = true;
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            await listening.Task.WaitAsync(TimeSpan.FromMinutes(3)); // a liveness guard: a service that never listens fails instead of hanging
            return new Service(process, new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") }, output);
        }

        public void Dispose()
        {
            Http.Dispose();
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.WaitForExit();
            _process.Dispose();
        }

        private static int FreeLoopbackPort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}
