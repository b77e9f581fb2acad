using AgeGroupAnomaly;
using AgeGroupAnomaly.Scoring;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Training;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using WebService;

// A minimal API around ModelManager: samples in, models trained off the request path, scores out.
// Configuration: appsettings.json ("Database", "ModelManager" section), overridable on the command
// line (--Database=..., --ModelManager:CheckpointDirectory=...).
WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
builder.Services
    .AddSqliteModelStore(builder.Configuration["Database"] ?? "drawings.db")
    .AddModelManager(builder.Configuration.GetSection("ModelManager"));
builder.Services.AddHealthChecks().AddModelManager(); // unhealthy when the store is unreachable or an active model fails to load
builder.Services.AddProblemDetails();
builder.Services.AddExceptionHandler<ProblemMapping>();

WebApplication app = builder.Build();
app.UseExceptionHandler();

app.MapPost("/samples", async (SampleIn[] samples, IModelStore store, CancellationToken ct) =>
    Results.Ok(new { ids = await store.AddSamplesAsync([.. samples.Select(s => new NewSample(s.Age, s.Embedding, s.Subject))], ct) }));

app.MapGet("/samples", async (double ageMin, double ageMax, IModelStore store, CancellationToken ct) =>
    Results.Ok((await store.GetSamplesAsync(ageMin, ageMax, ct)).Select(s => new { s.Id, s.AgeYears, s.Subject, dimension = s.Embedding.Length })));

app.MapDelete("/samples/{id:long}", async (long id, IModelStore store, CancellationToken ct) =>
    await store.DeleteSampleAsync(id, ct) ? Results.NoContent() : Results.Problem(statusCode: 404, title: "Unknown sample", detail: $"No sample has id {id}."));

app.MapDelete("/samples", async (double ageMin, double ageMax, IModelStore store, CancellationToken ct) =>
    Results.Ok(new { deleted = await store.DeleteSamplesAsync(ageMin, ageMax, ct) }));

app.MapPost("/models/train", async (TrainIn request, ModelManager manager, IOptions<ModelManagerOptions> options, CancellationToken ct) =>
{
    TrainingConfig config = options.Value.DefaultTrainingConfig;
    if (request.Epochs is { } epochs)
    {
        config = config with { Epochs = epochs };
    }

    return Results.Ok((await manager.TrainAgeGroupModelAsync(request.AgeMin, request.AgeMax, config, cancellationToken: ct)).Model);
});

app.MapGet("/models", async (ModelManager manager, CancellationToken ct) =>
    Results.Ok((await manager.ListModelsAsync(ct)).Select(m => new { m.Id, m.AgeMin, m.AgeMax, m.IsActive, m.Threshold, m.SampleCount, m.CreatedUtc })));

app.MapPost("/models/{id:guid}/activate", async (Guid id, ModelManager manager, CancellationToken ct) =>
{
    await manager.ActivateAsync(id, ct);
    return Results.NoContent();
});

app.MapPost("/score", async (ScoreIn request, ModelManager manager, CancellationToken ct) =>
    Results.Ok(await manager.ScoreAsync(request.Embedding, request.Age, ct)));

app.MapPost("/score/batch", async (BatchScoreIn request, ModelManager manager, CancellationToken ct) =>
{
    IReadOnlyList<ScoreResult> results = await manager.ScoreBatchAsync(request.Embeddings, request.Ages, ct);
    return Results.Ok(results);
});

app.MapHealthChecks("/health", new HealthCheckOptions
{
    ResponseWriter = (context, report) =>
    {
        HealthReportEntry entry = report.Entries["modelmanager"];
        return context.Response.WriteAsJsonAsync(new { status = report.Status.ToString(), entry.Description, models = entry.Data.GetValueOrDefault("activeModels") });
    },
});

app.Run();

internal sealed record SampleIn(double Age, float[] Embedding, string? Subject = null);

internal sealed record TrainIn(double AgeMin, double AgeMax, int? Epochs = null);

internal sealed record ScoreIn(double Age, float[] Embedding);

internal sealed record BatchScoreIn(double[] Ages, float[][] Embeddings);
