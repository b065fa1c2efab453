namespace SamCluster.Messages;

/// <summary>A run that cannot go on for a reason outside the program (a full disk): the CLI prints its message as one
/// line and exits with code 1, no stack trace. The message says what to do.</summary>
public sealed class RunFailedException(string message, Exception? inner = null) : Exception(message, inner);
