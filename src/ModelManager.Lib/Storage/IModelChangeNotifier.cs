namespace AgeGroupAnomaly.Storage;

/// <summary>
/// Optional for an <see cref="IModelStore"/> that several processes share: tells subscribers that
/// model records changed (a model was added, activated, deactivated or deleted), by this process or
/// another. A <see cref="ModelManager"/> over such a store refreshes its routing by age at once
/// instead of waiting for <see cref="ModelManagerOptions.ActiveModelsRefreshInterval"/>, which stays
/// the fallback when a notification is lost.
/// </summary>
public interface IModelChangeNotifier
{
    /// <summary>Calls <paramref name="onChanged"/> after each committed change of model records, until the returned subscription is disposed.</summary>
    /// <param name="onChanged">Called on a thread of the store's choosing; must be quick and must not throw.</param>
    /// <returns>The subscription; dispose it to stop.</returns>
    IDisposable SubscribeToModelChanges(Action onChanged);
}
