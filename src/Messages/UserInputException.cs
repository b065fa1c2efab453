namespace SamCluster.Messages;

/// <summary>Bad input from the user (a flag, a config file, a data folder, a run folder). Every part of SamCluster
/// throws this for user errors; the CLI prints its message as one line and exits with code 2, no stack trace.
/// The message names the problem (and the file and line where there is one).</summary>
public sealed class UserInputException : Exception
{
    public UserInputException(string message) : base(message) { }
    public UserInputException(string message, Exception inner) : base(message, inner) { }
}
