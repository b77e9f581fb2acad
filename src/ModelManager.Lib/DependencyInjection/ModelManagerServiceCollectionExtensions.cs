using AgeGroupAnomaly;
using AgeGroupAnomaly.Checkpoints;
using AgeGroupAnomaly.Storage;
using AgeGroupAnomaly.Storage.Sqlite;
using AgeGroupAnomaly.Training;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers <see cref="ModelManager"/> and its stores in a service collection, the
/// Microsoft.Extensions way. Optional: the library works without DI.
/// </summary>
/// <example>
/// <code>
/// services.AddSqliteModelStore("models.db")
///         .AddModelManager(o => o.CheckpointDirectory = "checkpoints");
/// </code>
/// </example>
public static class ModelManagerServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="ModelManager"/> over the registered <see cref="IModelStore"/>
    /// (and <see cref="ICheckpointStore"/>, when one is registered), with
    /// <see cref="IOptions{ModelManagerOptions}"/> validated when the host starts. In a host,
    /// trainings are cancelled when the application starts stopping
    /// (<see cref="IHostApplicationLifetime.ApplicationStopping"/>).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options; null to take them from elsewhere (for example configuration binding).</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddModelManager(this IServiceCollection services, Action<ModelManagerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        OptionsBuilder<ModelManagerOptions> options = services.AddOptions<ModelManagerOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ModelManagerOptions>, ModelManagerOptionsValidator>());
        services.TryAddSingleton(provider =>
        {
            var manager = new ModelManager(
                provider.GetRequiredService<IModelStore>(),
                provider.GetRequiredService<IOptions<ModelManagerOptions>>().Value,
                provider.GetService<ILoggerFactory>(),
                provider.GetService<ICheckpointStore>(),
                provider.GetService<System.Diagnostics.Metrics.IMeterFactory>());

            // In a host, trainings stop when the app starts stopping: a shutdown never waits for one.
            provider.GetService<IHostApplicationLifetime>()?.ApplicationStopping.Register(manager.CancelTrainings);
            return manager;
        });
        return services;
    }

    /// <summary>
    /// Registers a singleton <see cref="ModelManager"/> as <see cref="AddModelManager(IServiceCollection, Action{ModelManagerOptions}?)"/>
    /// does, with its options bound from a configuration section (for example
    /// <c>configuration.GetSection("ModelManager")</c> of appsettings.json). Every option binds,
    /// including <c>DefaultTrainingConfig:HiddenSizes</c> (a list of numbers) and <c>Segments</c>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The section holding the options.</param>
    /// <param name="configure">Further settings applied after binding; null for none.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddModelManager(this IServiceCollection services, IConfiguration configuration, Action<ModelManagerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<ModelManagerOptions>().Configure(options => Bind(configuration, options));
        return services.AddModelManager(configure);
    }

    /// <summary>Registers a singleton <see cref="SqliteModelStore"/> as the <see cref="IModelStore"/>.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="databasePath">The SQLite file (or a connection string).</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddSqliteModelStore(this IServiceCollection services, string databasePath)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        services.TryAddSingleton<IModelStore>(_ => new SqliteModelStore(databasePath));
        return services;
    }

    /// <summary>
    /// Registers an <see cref="InMemoryModelStore"/> and an <see cref="InMemoryCheckpointStore"/>:
    /// a manager that touches no file, for an app's own tests.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddInMemoryModelStore(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<IModelStore, InMemoryModelStore>();
        services.TryAddSingleton<ICheckpointStore, InMemoryCheckpointStore>();
        return services;
    }

    /// <summary>
    /// The configuration binder fills settable properties; <see cref="TrainingConfig"/> is an
    /// immutable record (its hidden sizes an <see cref="System.Collections.Immutable.ImmutableArray{T}"/>
    /// the binder cannot fill), so it is bound into a mutable copy and rebuilt.
    /// </summary>
    private static void Bind(IConfiguration configuration, ModelManagerOptions options)
    {
        TrainingConfig defaults = options.DefaultTrainingConfig;
        options.DefaultTrainingConfig = defaults with { }; // the binder writes into this copy, never into a shared instance
        configuration.Bind(options);
        options.DefaultTrainingConfig = defaults;

        IConfigurationSection training = configuration.GetSection(nameof(ModelManagerOptions.DefaultTrainingConfig));
        if (!training.Exists())
        {
            return;
        }

        var bound = new BindableTrainingConfig(defaults);
        training.Bind(bound, o => o.ErrorOnUnknownConfiguration = true); // a misspelt field is an error, not a silent default
        options.DefaultTrainingConfig = bound.ToConfig();
    }

    /// <summary>Runs <see cref="ModelManagerOptions.Validate"/> (and the checkpoint rule) as options validation.</summary>
    private sealed class ModelManagerOptionsValidator(IServiceProvider provider) : IValidateOptions<ModelManagerOptions>
    {
        public ValidateOptionsResult Validate(string? name, ModelManagerOptions options)
        {
            try
            {
                options.Validate();
            }
            catch (ArgumentException ex)
            {
                return ValidateOptionsResult.Fail(ex.Message);
            }

            return provider.GetService<ICheckpointStore>() is null && string.IsNullOrWhiteSpace(options.CheckpointDirectory)
                ? ValidateOptionsResult.Fail("CheckpointDirectory is empty; give the folder for checkpoint files, or register an ICheckpointStore.")
                : ValidateOptionsResult.Success;
        }
    }

    /// <summary>The settable shape of <see cref="TrainingConfig"/> for the configuration binder.</summary>
    private sealed class BindableTrainingConfig(TrainingConfig defaults)
    {
        public List<int> HiddenSizes { get; set; } = [];

        public double LearningRate { get; set; } = defaults.LearningRate;

        public int BatchSize { get; set; } = defaults.BatchSize;

        public int Epochs { get; set; } = defaults.Epochs;

        public double ValidationSplit { get; set; } = defaults.ValidationSplit;

        public int EarlyStoppingPatience { get; set; } = defaults.EarlyStoppingPatience;

        public double MinDelta { get; set; } = defaults.MinDelta;

        public bool RelativeMinDelta { get; set; } = defaults.RelativeMinDelta;

        public bool Standardize { get; set; } = defaults.Standardize;

        public string Device { get; set; } = defaults.Device;

        public double Dropout { get; set; } = defaults.Dropout;

        public int Seed { get; set; } = defaults.Seed;

        public double ThresholdPercentile { get; set; } = defaults.ThresholdPercentile;

        public ThresholdCalibration ThresholdCalibration { get; set; } = defaults.ThresholdCalibration;

        public int? CpuThreads { get; set; } = defaults.CpuThreads;

        public TrainingConfig ToConfig() => defaults with
        {
            HiddenSizes = HiddenSizes.Count > 0 ? [.. HiddenSizes] : defaults.HiddenSizes, // a list starts empty, so the binder replaces rather than appends
            LearningRate = LearningRate,
            BatchSize = BatchSize,
            Epochs = Epochs,
            ValidationSplit = ValidationSplit,
            EarlyStoppingPatience = EarlyStoppingPatience,
            MinDelta = MinDelta,
            RelativeMinDelta = RelativeMinDelta,
            Standardize = Standardize,
            Device = Device,
            Dropout = Dropout,
            Seed = Seed,
            ThresholdPercentile = ThresholdPercentile,
            ThresholdCalibration = ThresholdCalibration,
            CpuThreads = CpuThreads,
        };
    }
}
