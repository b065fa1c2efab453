using System.CommandLine;
using SamCluster.Hosting;
using SamCluster.Messages;

namespace SamCluster.Cli.Commands;

/// <summary>The TLS options of `coordinator`, `node` and `local`: --tls-cert, --tls-password (else SAMCLUSTER_TLS_PASSWORD),
/// --tls-no-verify.</summary>
public sealed class RemotingTlsOptions
{
    public readonly Option<string?> Certificate = new("--tls-cert")
    {
        Description = "Encrypt remoting with TLS using this PKCS#12 (.pfx) certificate and key; every process of the cluster needs one.",
    };
    public const string PasswordFlag = "--tls-password";

    public readonly Option<string?> Password = new(PasswordFlag)
    {
        Description = $"Password of --tls-cert (default: ${RemotingTls.PasswordEnvironmentVariable}; the variable keeps it out of `ps`).",
    };
    public readonly Option<bool> NoVerify = new("--tls-no-verify")
    {
        Description = "Accept peer certificates that do not chain to a trusted root (self-signed): encrypts, but does not authenticate peers.",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Certificate);
        command.Options.Add(Password);
        command.Options.Add(NoVerify);
    }

    /// <summary>Remoting TLS for the parsed command line (null without --tls-cert).</summary>
    public RemotingTls? Open(ParseResult parse)
    {
        var certificate = parse.GetValue(Certificate);
        if (string.IsNullOrWhiteSpace(certificate))
        {
            if (parse.GetValue(NoVerify)) throw new UserInputException("--tls-no-verify needs --tls-cert");
            return null;
        }
        return RemotingTls.Open(certificate, RemotingTls.ResolvePassword(parse.GetValue(Password)), parse.GetValue(NoVerify));
    }
}
