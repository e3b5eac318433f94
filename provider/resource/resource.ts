// The Pulumi resource a stack declares: `new OfflineJoinPackage("web01", { domain, machineName, … })`.
//
// Pulumi serializes the provider object below, with everything it captures, into the `__provider`
// input, stores it in the state and evaluates it in its dynamic-provider host. So the provider is
// a thin forwarder that captures only a list of module paths (strings): each call `require`s the
// lifecycle module (resource/lifecycle.ts, compiled, reached through its stable id
// provider/resource-provider.js) inside the host, where connections, the LDAP stack and configured
// secrets live and die. No secret, connection or module graph is serialized.
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import type { AccountFacts, DomainFacts, IssuedFacts, ProvisioningOptions } from '../backend';

/** Where the host finds the compiled lifecycle module, tried in order. When this file runs as
 *  TypeScript source (ts-node, vitest) the compiled copy under dist/ is the one the host can load,
 *  so `npm run build` must have run. The package name is the fallback for a state whose absolute
 *  path no longer exists (another checkout), resolved from the host's working directory. */
const lifecycleModules: string[] = [
  __filename.endsWith('.ts')
    ? path.resolve(__dirname, '..', '..', 'dist', 'provider', 'resource-provider.js')
    : path.join(__dirname, '..', 'resource-provider.js'),
  'pulumi-offline-join/dist/provider/resource-provider.js',
];

type Lifecycle = typeof import('../resource-provider');

// Runs in the host: loads the lifecycle module on first call (require caches it).
function lifecycle(): Lifecycle {
  let notFound: unknown;
  for (const id of lifecycleModules) {
    try {
      return require(id) as Lifecycle;
    } catch (e) {
      // Only "this candidate is missing" moves on; an error inside the module is the real error.
      const err = e as NodeJS.ErrnoException;
      if (err.code !== 'MODULE_NOT_FOUND' || !String(err.message).includes(id)) throw e;
      notFound = e;
    }
  }
  throw notFound;
}

/** The object Pulumi serializes into `__provider`. Exported for the engine-level tests. */
export const offlineJoinProvider: pulumi.dynamic.ResourceProvider = {
  configure: async (req) => lifecycle().configure((key) => req.config.get(key)),
  check: (olds, news) => lifecycle().check(olds, news),
  diff: (id, olds, news) => lifecycle().diff(id, olds, news),
  create: (inputs) => lifecycle().create(inputs),
  read: (id, props) => lifecycle().read(id, props),
  update: (id, olds, news) => lifecycle().update(id, olds, news),
  delete: (id, props) => lifecycle().del(id, props),
};

/** One certificate for the package: the PKCS#12 file issued from a template, as base64 text. */
export interface CertificateInput {
  templateName: pulumi.Input<string>;
  /** base64 of the PKCS#12 file. Always stored as a secret. */
  pfx: pulumi.Input<string>;
  policyServerUrl?: pulumi.Input<string>;
  /** PolicyServerUrlFlags bits (PsfLocationGroupPolicy 1, …) */
  policyServerUrlFlags?: pulumi.Input<number>;
  policyServerId?: pulumi.Input<string>;
  /** X509PrivateKeyExportFlags bits (XCN_NCRYPT_ALLOW_EXPORT_FLAG 1, …); 0 = not exportable */
  privateKeyExportPolicy?: pulumi.Input<number>;
}

/** Each PFX as a secret input, the rest of the list left readable (template names show in a diff);
 *  a list or an entry that is itself an Output is made secret whole. */
function secretPfx(certificates: OfflineJoinPackageArgs['certificates']): unknown {
  if (certificates === undefined || certificates === null) return certificates;
  if (!Array.isArray(certificates)) return pulumi.secret(certificates);
  return certificates.map((c: pulumi.Input<CertificateInput>) =>
    pulumi.Output.isInstance(c) || c instanceof Promise || c === null || typeof c !== 'object' ? pulumi.secret(c) : { ...c, pfx: pulumi.secret(c.pfx) },
  );
}

export interface OfflineJoinPackageArgs {
  /** DNS name of the domain. Changing it replaces the resource (another account). */
  domain: pulumi.Input<string>;
  /** Computer name; sAMAccountName is this plus `$`. Changing it replaces the resource. */
  machineName: pulumi.Input<string>;
  /** DN of the OU for the account; default: the domain's Computers container. Changing it moves the account (same password and package); removing it leaves the account where it is. */
  machineAccountOU?: pulumi.Input<string>;
  /** The DC to use (FQDN); default: a writable DC the DC locator finds (DNS SRV + LDAP ping). */
  dcName?: pulumi.Input<string>;
  options?: pulumi.Input<ProvisioningOptions>;
  /** Templates to enroll from. Only Windows enrolls; the LDAP backend needs a PFX for each one in `certificates`. */
  certTemplateNames?: pulumi.Input<pulumi.Input<string>[]>;
  /** A PFX per certificate template (from a TLS or Vault resource, an existing CA) that the package
   *  carries. Each `pfx` is always stored as a secret. Changing these rebuilds the package around the same password. */
  certificates?: pulumi.Input<pulumi.Input<CertificateInput>[]>;
  /** GPOs by display name; off Windows their Registry.pol files are read under `sysvolRoot`. */
  machinePolicyNames?: pulumi.Input<pulumi.Input<string>[]>;
  /** Registry.pol files ([MS-GPREG]) whose values the package carries. */
  machinePolicyPaths?: pulumi.Input<pulumi.Input<string>[]>;
  /** A mounted or copied SYSVOL share, where machinePolicyNames' files are read off Windows. */
  sysvolRoot?: pulumi.Input<string>;
  netbiosName?: pulumi.Input<string>;
  siteName?: pulumi.Input<string>;
  primaryDnsDomain?: pulumi.Input<string>;

  // How to reach the directory. Also settable as stack config (`odj:ldapUrl`, `odj:bindUser`,
  // `odj:bindPassword`, `odj:caFile`, `odj:dnsServers`, …) or environment (ODJ_LDAP_URL,
  // ODJ_BIND_USER, ODJ_BIND_PASSWORD, ODJ_CA_FILE, ODJ_DNS_SERVERS, …). Changing only these touches neither account nor package.
  /** `ldaps://host:636`, or `ldap://host:389` with startTls */
  url?: pulumi.Input<string>;
  startTls?: pulumi.Input<boolean>;
  bindUser?: pulumi.Input<string>;
  /** Always stored as a secret. */
  bindPassword?: pulumi.Input<string>;
  /** PEM text of the CA certificates that issued the DC's certificate */
  caCerts?: pulumi.Input<pulumi.Input<string>[]>;
  insecureSkipTlsVerify?: pulumi.Input<boolean>;
  timeoutMs?: pulumi.Input<number>;
  /** 'kerberos': sign in with the credential cache (KRB5CCNAME) or `keytab` + bindUser, over a sealed ldap:// (no password) */
  auth?: pulumi.Input<'simple' | 'kerberos'>;
  /** a keytab file with bindUser's keys (with auth 'kerberos'); `odj:keytab`, ODJ_KEYTAB */
  keytab?: pulumi.Input<string>;
  /** DNS servers (IP[:port]) the DC locator asks instead of the system resolver, e.g. the domain's own */
  dnsServers?: pulumi.Input<pulumi.Input<string>[]>;

  /** Any change to this map resets the machine password and issues a new package for the same
   *  account. Refused once a machine has joined with the current package, unless
   *  `allowPasswordResetAfterJoin` is set. */
  rotationTriggers?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Lets an update reset the password of an account that has logged on since its package was
   *  issued (a joined machine, which then has to join again with the new package), or rebuild
   *  the package of an account whose password was changed elsewhere (which then resets it).
   *  Changing only this is no update; set it for the one `pulumi up` that needs it, then remove it. */
  allowPasswordResetAfterJoin?: pulumi.Input<boolean>;
  /** Re-enable the account if an administrator disabled it, when a package is issued (create or a
   *  password reset). Without it a disabled account stays disabled: moves and rebuilds never
   *  touch userAccountControl. */
  enableAccount?: pulumi.Input<boolean>;
}

const outputNames = [
  'packageText', 'distinguishedName', 'objectGuid', 'objectSid', 'rid', 'samAccountName', 'domainFacts', 'reused',
  'issued', 'packageCurrent', 'joined', 'enabled', 'managedSince', 'ownerMarker', 'plannedChange', 'accountDc',
] as const;

/** A pre-staged AD computer account and its offline domain join package. The resource id is the
 *  account's objectGUID (import with `{ import: "<objectGUID>" }`). */
export class OfflineJoinPackage extends pulumi.dynamic.Resource {
  // `declare`: the base constructor sets these; a class field would overwrite them with undefined.
  /** base64 package text for `djoin /requestodj` or unattend.xml AccountData. Always secret. */
  declare public readonly packageText: pulumi.Output<string>;
  declare public readonly distinguishedName: pulumi.Output<AccountFacts['distinguishedName']>;
  declare public readonly objectGuid: pulumi.Output<string>;
  declare public readonly objectSid: pulumi.Output<string>;
  declare public readonly rid: pulumi.Output<number>;
  declare public readonly samAccountName: pulumi.Output<string>;
  /** The domain and DC the package was made against (null after an import until the next update). */
  declare public readonly domainFacts: pulumi.Output<DomainFacts | null>;
  /** true when the package was made for an account that already existed */
  declare public readonly reused: pulumi.Output<boolean>;
  /** pwdLastSet (FILETIME, decimal) right after the package's password was set, and the DC that
   *  set it; null after an import until a package is issued. */
  declare public readonly issued: pulumi.Output<IssuedFacts | null>;
  /** As of the last create, update or refresh: the account's password is still the package's. */
  declare public readonly packageCurrent: pulumi.Output<boolean>;
  /** As of the last refresh: the account has logged on since the package was issued. */
  declare public readonly joined: pulumi.Output<boolean>;
  /** As of the last refresh or update: the account is not disabled. */
  declare public readonly enabled: pulumi.Output<boolean | undefined>;
  /** 'create', 'reuse' (taken over with reuseAccount) or 'import'. */
  declare public readonly managedSince: pulumi.Output<string>;
  /** What the last update did, or what the next one will do in a preview: create, none, replace,
   *  or move / rebuild (same password) / reset (new password) joined with '+'. */
  declare public readonly plannedChange: pulumi.Output<string>;
  /** The DC that holds the account (made it or last re-issued it): refresh, update and destroy ask
   *  it first, and a "no such object" from another DC is not taken as "gone" (README). */
  declare public readonly accountDc: pulumi.Output<string | undefined>;
  declare public readonly domain: pulumi.Output<string>;
  declare public readonly machineName: pulumi.Output<string>;
  declare public readonly machineAccountOU: pulumi.Output<string | undefined>;

  constructor(name: string, args: OfflineJoinPackageArgs, opts?: pulumi.CustomResourceOptions) {
    const props: Record<string, unknown> = { ...args };
    if (args.bindPassword !== undefined) props.bindPassword = pulumi.secret(args.bindPassword);
    if (args.certificates !== undefined) props.certificates = secretPfx(args.certificates);
    // Ties the account this resource creates to it, so that a create interrupted after the add is
    // adopted by the retry instead of failing with NERR_UserExists (ProvisioningParams.ownerTag;
    // only a hash of it reaches the directory). Dynamic providers never see the URN, so the same
    // identity is spelled here: project, stack, type, name.
    props.ownerTag = `${pulumi.getProject()}/${pulumi.getStack()}/odj:OfflineJoinPackage/${name}`;
    for (const o of outputNames) props[o] = undefined;
    super(
      offlineJoinProvider,
      name,
      props,
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ['packageText', 'bindPassword', 'certificates'] }),
      'odj',
      'OfflineJoinPackage',
    );
  }
}
