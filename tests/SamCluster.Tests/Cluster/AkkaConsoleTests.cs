using SamCluster.Hosting.Logging;
using Xunit;

namespace SamCluster.Tests.Cluster;

/// <summary>Akka's cluster lines on a console name a member by its address, not its whole record (issue 27, point 5).</summary>
public class AkkaConsoleTests
{
    [Fact]
    public void A_member_is_its_address_on_the_console()
    {
        const string raw = "Cluster Node [akka.tcp://samcluster@127.0.0.1:43391] - Marking node(s) as UNREACHABLE [Member(address = " +
                           "akka.tcp://samcluster@10.1.2.7:4055, Uid=753292400 status = Up, role=[gpu], upNumber=2, version=1.0.0)]. Node roles [coordinator]";
        Assert.Equal("Marking node(s) as UNREACHABLE [10.1.2.7:4055]", AkkaConsole.OneLine.Readable(raw));
        Assert.Equal("Leader is removing unreachable node [10.1.2.7:4055, 10.1.2.8:4055]",
            AkkaConsole.OneLine.Readable("Leader is removing unreachable node [Member(address = akka.ssl.tcp://samcluster@10.1.2.7:4055, Uid=1 status = Down, role=[gpu], upNumber=3, version=1.0.0), " +
                                         "Member(address = akka.tcp://samcluster@10.1.2.8:4055, Uid=2 status = Down, role=[gpu], upNumber=4, version=1.0.0)]"));
        // Anything else is left as it is.
        Assert.Equal("Association with remote system [x] has failed", AkkaConsole.OneLine.Readable("Association with remote system [x] has failed"));
    }
}
