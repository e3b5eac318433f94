// The one rule every face and both backends apply before they read, delete, reuse, move or set
// the password of a directory object: it must be a plain computer account. Anything else (a user,
// a group, an OU, a domain controller, a read-only DC, a trust account, a managed service account)
// is refused before anything is written, with a message that says what the object is. A mistyped
// GUID or name must never reset the DC's machine password or delete Domain Admins.
//
// The code is ERROR_NO_TRUST_SAM_ACCOUNT (1787, "the SAM database does not have a computer account
// for this workstation trust relationship"): what we need is a workstation trust account, and the
// object is not one. It is the same code on every path (library, CLI, resource, native backend).
import { ProvisioningError } from '../errors';

/** userAccountControl (UF_*) bits the rule and the reuse path look at ([MS-ADTS] 2.2.16). */
export const UacBits = {
  ACCOUNTDISABLE: 0x2,
  NORMAL_ACCOUNT: 0x200,
  INTERDOMAIN_TRUST_ACCOUNT: 0x800,
  WORKSTATION_TRUST_ACCOUNT: 0x1000,
  SERVER_TRUST_ACCOUNT: 0x2000,
  PARTIAL_SECRETS_ACCOUNT: 0x04000000,
} as const;

const REFUSAL_CODE = 'ERROR_NO_TRUST_SAM_ACCOUNT' as const;

/** What the directory (or NetUserGetInfo) says about an object, enough to tell what it is. */
export interface ObjectKind {
  /** DN when known (LDAP), else empty */
  distinguishedName: string;
  samAccountName?: string;
  /** objectClass values, any case; undefined when only NetApi flags are known */
  objectClasses?: readonly string[];
  userAccountControl: number;
}

/** Classes that derive from computer but are not machines we may take over. */
const MANAGED_SERVICE_ACCOUNT = ['msds-groupmanagedserviceaccount', 'msds-managedserviceaccount', 'msds-delegatedmanagedserviceaccount'];

/** Names for common non-computer classes, most specific first. */
const CLASS_NAMES: [string, string][] = [
  ['group', 'a group'],
  ['organizationalunit', 'an organizational unit'],
  ['domaindns', 'the domain head'],
  ['container', 'a container'],
  ['contact', 'a contact'],
  ['trusteddomain', 'a trusted domain object'],
  ['inetorgperson', 'a user account'],
  ['user', 'a user account'],
];

/** null when `o` is a plain computer account; otherwise what it is, e.g. "is a user account". */
export function whatItIs(o: ObjectKind): string | null {
  const uac = o.userAccountControl >>> 0;
  if (o.objectClasses !== undefined) {
    const classes = o.objectClasses.map((c) => c.toLowerCase());
    if (classes.some((c) => MANAGED_SERVICE_ACCOUNT.includes(c))) return 'is a managed service account';
    if (!classes.includes('computer')) {
      // AD keeps a trust's account (CORP$) as a user object; its flag says what it really is.
      if (classes.includes('user') && uac & UacBits.INTERDOMAIN_TRUST_ACCOUNT) return 'is an interdomain trust account';
      const named = CLASS_NAMES.find(([c]) => classes.includes(c));
      if (named) return `is ${named[1]}`;
      return `is a ${o.objectClasses[o.objectClasses.length - 1] ?? 'directory'} object, not a computer account`;
    }
  }
  if (uac & UacBits.PARTIAL_SECRETS_ACCOUNT) return 'is a read-only domain controller';
  if (uac & UacBits.SERVER_TRUST_ACCOUNT) return 'is a domain controller';
  if (uac & UacBits.INTERDOMAIN_TRUST_ACCOUNT) return 'is an interdomain trust account';
  if (!(uac & UacBits.WORKSTATION_TRUST_ACCOUNT)) return o.objectClasses === undefined && uac & UacBits.NORMAL_ACCOUNT ? 'is a user account' : 'is not a workstation trust account';
  return null;
}

/** `CN=DC1,OU=Domain Controllers,… (DC1$)`, or whichever of the two is known. */
function objectLabel(o: ObjectKind): string {
  if (o.distinguishedName && o.samAccountName) return `${o.distinguishedName} (${o.samAccountName})`;
  return o.distinguishedName || o.samAccountName || 'the object';
}

export type GuardedAction = 'read' | 'delete' | 'reuse' | 'move' | 'set the password of';

/** Throws ERROR_NO_TRUST_SAM_ACCOUNT naming what the object is unless it is a plain computer account. */
export function assertComputerAccount(o: ObjectKind, action: GuardedAction, field: string): void {
  const what = whatItIs(o);
  if (what === null) return;
  throw new ProvisioningError(REFUSAL_CODE, `${objectLabel(o)} ${what}; refusing to ${action} it (only computer accounts that are not domain controllers or trust accounts are touched)`, {
    field,
  });
}

/** Child classes a computer account normally carries, removed with it: BitLocker recovery
 *  passwords (msFVE-RecoveryInformation), TPM owner information kept under the computer on older
 *  schemas (msTPM-InformationObject), and service connection points that Hyper-V ("Windows Virtual
 *  Machine"), RDS and similar services publish (serviceConnectionPoint). Any other child (a
 *  published printer, MSMQ settings, something an admin put there) stops the delete. */
export const DELETABLE_CHILD_CLASSES = ['msfve-recoveryinformation', 'mstpm-informationobject', 'serviceconnectionpoint'] as const;

/** True when every class of a child object allows deleting it with its computer. */
export function isDeletableChild(objectClasses: readonly string[]): boolean {
  const classes = objectClasses.map((c) => c.toLowerCase());
  return classes.some((c) => (DELETABLE_CHILD_CLASSES as readonly string[]).includes(c));
}

/** An existing account of the name asked for: NERR_UserExists unless reuse was asked, in both
 *  backends (Samba's NetApi would take it over silently). Reuse itself refuses anything but a plain
 *  computer account (assertComputerAccount), so the advice to reuse is given only for one. */
export function refuseExisting(existing: ObjectKind, sam: string, reuseAccount: boolean): void {
  if (reuseAccount) return;
  const what = whatItIs(existing);
  const where = existing.distinguishedName ? ` (${existing.distinguishedName})` : '';
  const advice = what === null ? 'set reuseAccount to take it over' : `it ${what}; choose another name`;
  throw new ProvisioningError('NERR_UserExists', `the account ${sam} already exists${where}; ${advice}`, { field: 'machineName' });
}
