using System.CommandLine;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SamCluster.Messages;

namespace SamCluster.Cli.Hosting;

/// <summary>
/// TLS for Akka remoting (DotNetty transport). Every process of a cluster uses the same kind of setting: a PKCS#12
/// (.pfx) certificate with its private key; by default both sides of a connection present one (mutual TLS), so a
/// process without TLS, or with a certificate the others do not trust, cannot join.
/// </summary>
public static class RemotingTls
{
    /// <summary>Environment variable read for the certificate password when no --tls-password is given.</summary>
    public const string PasswordEnvironmentVariable = "SAMCLUSTER_TLS_PASSWORD";

    /// <summary>The address protocol of a TLS system: seed addresses must say it (a plain "akka.tcp" one is refused).</summary>
    public const string Protocol = "akka.ssl.tcp";

    /// <summary>
    /// The HOCON fragment turning TLS on for remoting, or "" when <paramref name="certificatePath"/> is null/empty.
    /// Checks first that the file exists, opens with the password and holds a private key, so a bad certificate is one
    /// clear line at start instead of failed handshakes later.
    /// </summary>
    /// <param name="suppressValidation">Accept peers whose certificate does not chain to a trusted root (self-signed
    /// certificates shared by all processes). Off means every certificate must be trusted by the machines' CA store.</param>
    public static string Hocon(string? certificatePath, string? password, bool suppressValidation)
    {
        if (string.IsNullOrWhiteSpace(certificatePath)) return "";
        var path = Path.GetFullPath(certificatePath);
        CheckCertificate(path, password);
        return $$"""

            akka.remote.dot-netty.tcp {
              enable-ssl = true
              ssl {
                suppress-validation = {{(suppressValidation ? "true" : "false")}}
                require-mutual-authentication = true
                certificate {
                  path = {{Quote(path)}}
                  password = {{Quote(password ?? "")}}
                  flags = [ "exportable" ]
                }
              }
            }
            """;
    }

    /// <summary>The password in effect: the flag's value, else SAMCLUSTER_TLS_PASSWORD, else null.</summary>
    public static string? ResolvePassword(string? flagValue) =>
        flagValue ?? Environment.GetEnvironmentVariable(PasswordEnvironmentVariable);

    static void CheckCertificate(string path, string? password)
    {
        if (!File.Exists(path)) throw new UserInputException($"TLS certificate '{path}' does not exist (--tls-cert)");
        try
        {
            using var certificate = X509CertificateLoader.LoadPkcs12FromFile(path, password);
            if (!certificate.HasPrivateKey)
                throw new UserInputException($"TLS certificate '{path}' has no private key (remoting needs a .pfx with its key)");
            if (certificate.NotAfter < DateTime.Now)
                throw new UserInputException($"TLS certificate '{path}' expired on {certificate.NotAfter:yyyy-MM-dd}");
        }
        catch (CryptographicException e)
        {
            throw new UserInputException(
                $"TLS certificate '{path}' cannot be opened: {e.Message.TrimEnd('.')} (is it a .pfx, and is --tls-password / {PasswordEnvironmentVariable} right?)");
        }
    }

    /// <summary>A HOCON quoted string, so paths and passwords with quotes or backslashes survive.</summary>
    public static string Quote(string text)
    {
        if (text.Any(char.IsControl)) throw new UserInputException("TLS certificate path or password contains a control character");
        return "\"" + text.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
    }
}

/// <summary>The TLS options of `coordinator` and `node`: --tls-cert, --tls-password (else SAMCLUSTER_TLS_PASSWORD),
/// --tls-no-verify.</summary>
public sealed class RemotingTlsOptions
{
    public readonly Option<string?> Certificate = new("--tls-cert")
    {
        Description = "Encrypt remoting with TLS using this PKCS#12 (.pfx) certificate and key; every process of the cluster needs one.",
    };
    public readonly Option<string?> Password = new("--tls-password")
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

    /// <summary>The remoting TLS HOCON for the parsed command line ("" without --tls-cert).</summary>
    public string Hocon(ParseResult parse)
    {
        var certificate = parse.GetValue(Certificate);
        if (string.IsNullOrWhiteSpace(certificate))
        {
            if (parse.GetValue(NoVerify)) throw new UserInputException("--tls-no-verify needs --tls-cert");
            return "";
        }
        return RemotingTls.Hocon(certificate, RemotingTls.ResolvePassword(parse.GetValue(Password)), parse.GetValue(NoVerify));
    }
}
