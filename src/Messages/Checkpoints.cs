namespace SamCluster.Messages;

/// <summary>One checkpoint file of one attempt of a trial, as the trial's entity records it and a worker resumes from it.</summary>
/// <param name="Attempt">The attempt that wrote it.</param>
/// <param name="Epoch">The last epoch it contains (training resumes at Epoch + 1).</param>
/// <param name="Location">Path relative to the checkpoint store's root, '/'-separated, so nodes that mount the store
/// at different paths agree on it.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the file's payload; the file carries it too, so a torn or altered file
/// is recognised before it is used.</param>
public sealed record CheckpointRef(int Attempt, int Epoch, string Location, string Sha256);
