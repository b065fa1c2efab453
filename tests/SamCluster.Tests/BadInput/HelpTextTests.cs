using System.CommandLine;
using System.Text.RegularExpressions;
using SamCluster.Cli;
using Xunit;

namespace SamCluster.Tests.BadInput;

/// <summary>Every command's help (issue 27, point 6), read in this process from Program's own commands, through
/// System.CommandLine's parse and help: every flag and argument has a one-line description, a default is said once
/// (the "[default: …]" System.CommandLine prints, or the description's "(default: …)" where there is no such value,
/// never both), placeholders name what they are, and `local` does not offer flags that mean nothing on one machine.</summary>
public class HelpTextTests
{
    static readonly RootCommand Root = Program.Root();

    public static TheoryData<string> Commands() => new(Root.Subcommands.Select(c => c.Name));

    static string Help(string command)
    {
        var output = new StringWriter();
        var exit = Root.Parse([command, "--help"]).Invoke(new InvocationConfiguration { Output = output });
        Assert.Equal(0, exit);
        return output.ToString();
    }

    static IEnumerable<Option> Visible(Command command) =>
        command.Options.Where(o => !o.Hidden && o.Name is not "--help" and not "-h" and not "-?" && o is not System.CommandLine.Help.HelpOption);

    [Theory]
    [MemberData(nameof(Commands))]
    public void Every_option_and_argument_has_a_one_line_description(string name)
    {
        var command = Root.Subcommands.Single(c => c.Name == name);
        Assert.False(string.IsNullOrWhiteSpace(command.Description), $"{name} has no description");
        foreach (var option in Visible(command))
        {
            Assert.False(string.IsNullOrWhiteSpace(option.Description), $"{name} {option.Name} has no description");
            Assert.DoesNotContain('\n', option.Description!);
            Assert.True(char.IsUpper(option.Description![0]) && option.Description.EndsWith('.'),
                $"{name} {option.Name}: a description is a sentence, got '{option.Description}'");
        }
        foreach (var argument in command.Arguments)
        {
            Assert.False(string.IsNullOrWhiteSpace(argument.Description), $"{name} <{argument.Name}> has no description");
            Assert.True(char.IsUpper(argument.Description![0]) && argument.Description.EndsWith('.'), $"{name} <{argument.Name}>: '{argument.Description}'");
        }
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void A_default_is_said_once(string name)
    {
        var command = Root.Subcommands.Single(c => c.Name == name);
        foreach (var option in Visible(command))
            if (option.HasDefaultValue)
                Assert.False(option.Description!.Contains("default", StringComparison.OrdinalIgnoreCase),
                    $"{name} {option.Name} has a default value that help prints, and its description says one too: '{option.Description}'");

        // And as printed: no line carries a "(default" and a "[default:".
        var lines = Help(name).Split('\n');
        Assert.DoesNotContain(lines, l => l.Contains("[default:", StringComparison.Ordinal) && l.Contains("default", StringComparison.OrdinalIgnoreCase)
            && l.IndexOf("default", StringComparison.OrdinalIgnoreCase) < l.IndexOf("[default:", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => Regex.Matches(l, @"\[default:").Count > 1);
    }

    [Fact]
    public void Arguments_are_named_by_what_they_are()
    {
        // A grid file is <grid>, a run folder <run-dir>; nothing is a bare <PATH>.
        var names = Root.Subcommands.SelectMany(c => c.Arguments.Select(a => (Command: c.Name, a.Name))).ToList();
        Assert.All(names, n => Assert.Matches("^[a-z][a-z0-9|.-]*$", n.Name));
        foreach (var command in new[] { "local", "coordinator", "validate", "design" })
            Assert.Contains((command, "grid"), names);
        Assert.Contains(("tail", "run-dir"), names);
        Assert.Contains(("report", "run-dir|trials.csv"), names);
        // The same meaning in an option's placeholder: a run folder is <run-dir>.
        Assert.Contains("--out <run-dir>", Help("local"));
        Assert.Contains("--against <run-dir>", Help("validate"));
        Assert.Contains("--coordinator <host:port>", Help("node"));
    }

    [Fact]
    public void Local_does_not_offer_flags_that_mean_nothing_on_one_machine_but_still_accepts_them()
    {
        var help = Help("local");
        Assert.DoesNotContain("--host", help.Replace("--http-host", "").Replace("--health-host", ""));
        Assert.DoesNotContain("--public-host", help);
        Assert.Contains("--public-host", Help("coordinator"));
        // Accepted as before: scripts that pass them keep working.
        var parse = Root.Parse(["local", "grid.yaml", "--out", "run", "--host", "127.0.0.1", "--public-host", "localhost"]);
        Assert.Empty(parse.Errors);
    }
}
