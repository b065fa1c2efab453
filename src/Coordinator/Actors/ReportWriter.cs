using Akka.Actor;
using SamCluster.Coordinator.Lifecycle;

namespace SamCluster.Coordinator.Actors;

/// <summary>
/// Writes the study's report (statistics, tables, curves) once every trial has finished, from the board's rows. The work
/// itself is a plain function (see CoordinatorRun), so it is tested without actors; here it runs off the actor thread
/// and its result (the table to print) goes back to the coordinator.
/// </summary>
public sealed class ReportWriter : ReceiveActor
{
    /// <summary>Coordinator → report writer: every trial is finished; the board as it is then.</summary>
    public sealed record WriteReport(IReadOnlyList<BoardEntry> Trials);

    public ReportWriter(Func<IReadOnlyList<BoardEntry>, string> writeReport)
    {
        Receive<WriteReport>(request =>
        {
            var replyTo = Sender;
            Task.Run(() => writeReport(request.Trials))
                .PipeTo(replyTo, success: table => new GridCoordinator.ReportWritten(table), failure: e => new Status.Failure(e));
        });
    }

    public static Props Props(Func<IReadOnlyList<BoardEntry>, string> writeReport) =>
        Akka.Actor.Props.Create(() => new ReportWriter(writeReport));
}
