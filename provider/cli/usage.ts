// What the user typed was wrong (exit 2), and the help text of each command. Kept free of any
// import so that `odj --help` and argument errors cost nothing to load.

/** A usage error: bad flag, missing value, conflicting options. The CLI exits 2 with it. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    /** the command whose help the user should read */
    readonly command?: string,
  ) {
    super(message);
  }
}

const CONNECTION = `Connection (flags win over the environment variables in brackets):
  --url URL                  ldaps://host[:636] or ldap://host[:389] with --starttls
                             [ODJ_LDAP_URL] (default: --dcname, else a writable DC the
                             DC locator finds through the domain's DNS SRV records)
  --dns-server ADDR          ask this DNS server (IP[:port]; repeatable) for the domain's
                             DCs instead of the system resolver [ODJ_DNS_SERVERS, commas]
  --starttls                 upgrade an ldap:// URL with StartTLS [ODJ_START_TLS]
  --user USER                bind as user@realm, DOMAIN\\user or a DN [ODJ_BIND_USER];
                             with Kerberos the principal (user@REALM)
  --password-file FILE       read the bind password from FILE (first line; - = stdin)
                             else [ODJ_BIND_PASSWORD], else a prompt on a terminal.
                             A password is never taken as an argument.
  --kerberos                 sign in with Kerberos instead of a password: the ticket
                             cache (KRB5CCNAME, from kinit) over a sealed ldap://<dc>
                             (the default URL then) [ODJ_AUTH=kerberos]
  --keytab FILE              Kerberos with the keys of --user from FILE instead of the
                             ticket cache; implies --kerberos [ODJ_KEYTAB]
  --cafile FILE              PEM CA certificates to verify the DC's TLS certificate [ODJ_CA_FILE]
  --insecure-skip-tls-verify do not verify the DC's certificate (testing only)
  --timeout SECONDS          per network step (default 15) [ODJ_TIMEOUT_MS in ms]`;

export const HELP: Record<string, string> = {
  main: `odj: offline domain join packages, like djoin /provision, from any OS over LDAPS

Usage: odj <command> [options]

Commands:
  provision   create or reuse a computer account and write its offline join package
  inspect     decode a package (binary, text or file form) and print every field
  unattend    render the unattend.xml section that carries a package
  delete      delete computer accounts
  help        show help for a command (odj help provision)

Options:
  -h, --help     help
  -V, --version  version

Exit status: 0 ok; 1 a provisioning, directory or package error (its Windows name and
number are in the message); 2 a usage error.`,

  provision: `Usage: odj provision --domain DOMAIN --machine NAME (--savefile FILE | --printblob) [options]
       odj provision --domain DOMAIN --batch FILE --savedir DIR [options]

Creates the computer account NAME$ in DOMAIN (or resets an existing one with --reuse) and
writes its offline domain join package, as djoin /provision does.

Provisioning (djoin's vocabulary):
  --domain DOMAIN        DNS (or NetBIOS) name of the domain to join
  --machine NAME         computer name (1-15 letters, digits, hyphens)
  --machineou DN         full DN of the OU for the account (default: the Computers container)
  --dcname DC            the DC to use (host name or IPv4 address)
  --reuse                reuse an existing computer account; its password is reset. A disabled
                         account stays disabled (the summary says so) unless --enable is given.
                         Domain controllers, trust and user accounts are never reused.
  --enable               with --reuse: re-enable the account if it is disabled
  --defpwd               use the default password (the lower-case machine name; not recommended)
  --nosearch             skip the search for an existing account (needs --dcname)
  --downlevel            allow a DC older than Windows Server 2008 R2
  --rootcacerts          include the root CA certificates
  --certtemplate NAME    certificate template to include (repeatable)
  --policynames NAMES    group policy names to include, separated by ; (repeatable)
  --policypaths PATHS    Registry.pol paths to include, separated by ; (repeatable)
  --certpfx NAME=FILE    the PFX (PKCS#12) issued from template NAME: LDAP cannot enroll, so each
                         --certtemplate needs one (repeatable)
  --sysvolroot DIR       a mounted or copied SYSVOL share, where --policynames are read off Windows
  --netbios NAME         NetBIOS name of the computer, if it differs
  --psite SITE           persistent site: the computer always uses SITE
  --dsite SITE           dynamic site: the computer starts in SITE
  --primarydns DOMAIN    primary DNS domain of the computer
  --owner-tag TAG        mark each account created as made for TAG (only a hash of TAG goes in
                         its description). A later run with the same TAG, bound as the same user,
                         adopts such an account (one an interrupted run left) with a new password
                         instead of failing with NERR_UserExists; without TAG it is refused.

Output:
  --savefile FILE        write the package in djoin's file form (UTF-16LE, BOM, NUL), mode 0600;
                         an existing FILE is never overwritten
  --printblob            print the package text (base64, for unattend.xml) on stdout
  --json                 print the account facts as JSON (no secrets) instead of text
  -q, --quiet            print no summary

Batch (many machines over one connection):
  --batch FILE           one machine per line: NAME [OU-DN]; blank lines and # comments skipped
                         (- = stdin)
  --savedir DIR          write DIR/NAME.txt for each machine (created 0700 if missing)
  Progress goes to stderr. Every line is checked before the DC is contacted.

${CONNECTION}

Examples:
  ODJ_BIND_PASSWORD=... odj provision --domain corp.example --machine WS01 \\
      --user admin@corp.example --cafile ca.pem --savefile ws01.txt
  odj provision --domain corp.example --batch machines.txt --savedir packages/ \\
      --user admin@corp.example --password-file pw.txt --cafile ca.pem`,

  inspect: `Usage: odj inspect FILE|- [--json] [--show-secrets] [--live --user USER [--issued PWDLASTSET] ...]

Decodes an offline domain join package in any form (binary, base64 text, or djoin's UTF-16
file form; - reads stdin) and prints every field. The machine password is redacted.

Options:
  --json           print a JSON object instead of text
  --show-secrets   print the machine password and private key bytes too
  --live           also ask the directory (searches only; no logon with the package): does the
                   account exist, is it the package's (same SID), when was its password set and
                   did it log on since; with --issued, whether the package is still current
  --issued N       the pwdLastSet recorded when the package was issued ("issued" in
                   odj provision --json, or the Pulumi output issued.pwdLastSet)
  --dcname DC      the DC to ask (default: the one named in the package)
  connection       --url --starttls --user --password-file --cafile --timeout, as for provision`,

  unattend: `Usage: odj unattend FILE|- [--arch amd64|arm64]... [--out FILE]

Renders the unattend.xml (offlineServicing pass, Microsoft-Windows-UnattendedJoin) that
carries the package, for Windows Setup to join the image offline. The package is checked first.

Options:
  --arch ARCH      processor architecture: amd64 (default) or arm64; repeat for both
  --out FILE       write the XML to FILE (mode 0600, never overwritten) instead of stdout`,

  delete: `Usage: odj delete --domain DOMAIN (--machine NAME | --guid GUID)... [options]

Deletes computer accounts over one connection, with the child objects a computer carries
(BitLocker recovery information, TPM information, service connection points such as Hyper-V's);
an account holding anything else is left alone. Only plain computer accounts are deleted: users,
groups, OUs, domain controllers, read-only DCs, trust and managed service accounts are refused.

Options:
  --domain DOMAIN      DNS name of the domain
  --dcname DC          the DC to use
  --machine NAME       computer name (repeatable)
  --guid GUID          objectGUID of the account (repeatable)
  --ignore-missing     an account that does not exist is not an error
  -q, --quiet          print nothing on success

${CONNECTION}`,
};

export function helpFor(command: string | undefined): string {
  return HELP[command ?? 'main'] ?? HELP.main;
}
