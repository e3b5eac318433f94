// Machine policy for a package: Registry.pol files given by path (machinePolicyPaths) or the
// Machine/Registry.pol of GPOs found by display name (machinePolicyNames), each turned into one
// OP_POLICY_ELEMENT_LIST for HKEY_LOCAL_MACHINE.
//
// A GPO's files live in SYSVOL (its gPCFileSysPath, a UNC path). Windows opens that path itself;
// elsewhere the caller gives `sysvolRoot`, a mounted or copied SYSVOL share, and the path below
// the share is looked up there (case-insensitively, as SMB would). No SMB client of our own.
import { lstat, readdir, stat } from 'node:fs/promises';
import { InputTooLargeError, readFileBounded } from '../bounded-read';
import { join, resolve } from 'node:path';
import { ProvisioningError } from '../errors';
import { Limits } from '../limits';
import { HKEY_LOCAL_MACHINE, parseRegistryPol, RegistryPolError } from '../odj/registry-pol';
import type { PolicyElementList } from '../odj';
import type { DirectoryConnection } from './connection';
import { escapeFilter } from 'ldapts';

/** Registry.pol files are a few KiB; this keeps a wrong path from reading a disk image. */
export const MAX_REGISTRY_POL_BYTES = Limits.policyFileBytes;

export interface GroupPolicyObject {
  dn: string;
  /** the GPO's GUID in braces, as its cn and folder name */
  name: string;
  displayName: string;
  /** UNC path of its folder in SYSVOL */
  fileSysPath: string;
}

const policiesContainerDn = (domainDn: string): string => `CN=Policies,CN=System,${domainDn}`;

const one = (v: unknown): string => String(Array.isArray(v) ? (v[0] ?? '') : (v ?? ''));

/** The one GPO with that display name: ERROR_NOT_FOUND when none, ERROR_INVALID_PARAMETER when several. */
export async function findGpoByName(conn: DirectoryConnection, domainDn: string, displayName: string, field: string): Promise<GroupPolicyObject> {
  const base = policiesContainerDn(domainDn);
  const r = await conn.run({ action: `searching for the group policy object "${displayName}"`, field }, () =>
    conn.client.search(base, {
      scope: 'one',
      filter: escapeFilter`(&(objectClass=groupPolicyContainer)(displayName=${displayName}))`,
      attributes: ['cn', 'displayName', 'gPCFileSysPath'],
    }),
  );
  const found = r.searchEntries;
  if (found.length === 0) throw new ProvisioningError('ERROR_NOT_FOUND', `no group policy object is named "${displayName}" in ${base}`, { field });
  if (found.length > 1) {
    const names = found.map((e) => one(e.cn)).join(', ');
    throw new ProvisioningError('ERROR_INVALID_PARAMETER', `${found.length} group policy objects are named "${displayName}" (${names}); rename one or give its Registry.pol in machinePolicyPaths`, { field });
  }
  const e = found[0];
  const fileSysPath = one(e.gPCFileSysPath);
  if (!fileSysPath) throw new ProvisioningError('ERROR_INVALID_DATA', `the group policy object "${displayName}" (${e.dn}) has no gPCFileSysPath`, { field });
  return { dn: e.dn, name: one(e.cn), displayName: one(e.displayName), fileSysPath };
}

/** `\\server\share\a\b` → the components below the share, refusing anything that could climb out. */
function uncComponents(unc: string, field: string): string[] {
  const m = /^\\\\([^\\]+)\\([^\\]+)((?:\\[^\\]+)*)\\?$/.exec(unc);
  if (!m) throw new ProvisioningError('ERROR_INVALID_DATA', `gPCFileSysPath ${JSON.stringify(unc)} is not a UNC path \\\\server\\share\\…`, { field });
  const rest = m[3].split('\\').filter((c) => c !== '');
  if (rest.some((c) => c === '.' || c === '..' || c.includes('/') || c.includes('\0'))) {
    throw new ProvisioningError('ERROR_INVALID_DATA', `gPCFileSysPath ${JSON.stringify(unc)} has a component that is not a plain name`, { field });
  }
  return rest;
}

/** Walk `components` below `root`, each matched exactly or else case-insensitively (SYSVOL names
 *  are case-insensitive on Windows; a copy on Linux keeps whatever case it was written with). */
async function resolveBelow(root: string, components: string[]): Promise<string | null> {
  let cur = root;
  for (const c of components) {
    const exact = join(cur, c);
    if (await lstat(exact).then(() => true, () => false)) {
      cur = exact;
      continue;
    }
    const names = await readdir(cur).catch(() => [] as string[]);
    const matches = names.filter((n) => n.toLowerCase() === c.toLowerCase());
    if (matches.length !== 1) return null;
    cur = join(cur, matches[0]);
  }
  return cur;
}

function fileError(e: unknown, path: string, field: string, what: string): ProvisioningError {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new ProvisioningError('ERROR_FILE_NOT_FOUND', `${what} ${path} does not exist`, { field });
  if (code === 'EACCES' || code === 'EPERM') return new ProvisioningError('ERROR_ACCESS_DENIED', `${what} ${path} cannot be read (${code})`, { field });
  if (code === 'EISDIR') return new ProvisioningError('ERROR_INVALID_PARAMETER', `${what} ${path} is a directory, not a Registry.pol file`, { field });
  return new ProvisioningError('ERROR_FILE_NOT_FOUND', `${what} ${path} cannot be read (${code ?? (e as Error)?.message ?? 'unknown error'})`, { field });
}

/** Read and strictly parse one Registry.pol file into an element list whose source is `source`. */
async function readRegistryPolFile(path: string, source: string, field: string, what = 'the policy file'): Promise<PolicyElementList> {
  let bytes: Buffer;
  try {
    // stat, not lstat: the size and kind checked are those of the file a link points to.
    const st = await stat(path).catch((e: unknown) => {
      throw fileError(e, path, field, what);
    });
    if (st.isDirectory()) throw fileError({ code: 'EISDIR' }, path, field, what);
    if (!st.isFile()) throw new ProvisioningError('ERROR_INVALID_PARAMETER', `${what} ${path} is not a regular file`, { field });
    if (st.size > MAX_REGISTRY_POL_BYTES) {
      throw new ProvisioningError('ERROR_INVALID_DATA', `${what} ${path} has ${st.size} bytes; a Registry.pol file is at most ${MAX_REGISTRY_POL_BYTES}`, { field });
    }
    // Bounded too: a file can grow after the stat, and /proc files say size 0.
    bytes = readFileBounded(path, MAX_REGISTRY_POL_BYTES);
  } catch (e) {
    if (e instanceof ProvisioningError) throw e;
    if (e instanceof InputTooLargeError) {
      throw new ProvisioningError('ERROR_INVALID_DATA', `${what} ${path} has more than ${MAX_REGISTRY_POL_BYTES} bytes, the most a Registry.pol file may have`, { field });
    }
    throw fileError(e, path, field, what);
  }
  try {
    return { source, rootKeyId: HKEY_LOCAL_MACHINE, elements: parseRegistryPol(bytes, path) };
  } catch (e) {
    if (e instanceof RegistryPolError) throw new ProvisioningError('ERROR_INVALID_DATA', e.message, { field, cause: e });
    throw e;
  }
}

/** machinePolicyPaths[i]: a local Registry.pol; its source in the package is the absolute path. */
export function readPolicyPath(path: string, field: string): Promise<PolicyElementList> {
  const abs = resolve(path);
  return readRegistryPolFile(abs, abs, field);
}

export interface SysvolOptions {
  /** a directory holding the SYSVOL share's content (`<sysvolRoot>/<dns domain>/Policies/{GUID}/…`) */
  sysvolRoot?: string;
  /** defaults to process.platform; Windows opens UNC paths itself */
  platform?: NodeJS.Platform;
}

/** A GPO's Machine/Registry.pol as an element list whose source is its UNC path. */
export async function readGpoMachinePolicy(gpo: GroupPolicyObject, options: SysvolOptions, field: string): Promise<PolicyElementList> {
  const unc = `${gpo.fileSysPath.replace(/\\+$/, '')}\\Machine\\Registry.pol`;
  const what = `the Machine/Registry.pol of the group policy object "${gpo.displayName}"`;
  if (options.sysvolRoot) {
    const root = resolve(options.sysvolRoot);
    const components = [...uncComponents(gpo.fileSysPath, field), 'Machine', 'Registry.pol'];
    const local = await resolveBelow(root, components);
    if (!local) {
      throw new ProvisioningError('ERROR_FILE_NOT_FOUND', `${what} is not under sysvolRoot ${root} (looked for ${components.join('/')}, from ${unc})`, { field });
    }
    return readRegistryPolFile(local, unc, field, what);
  }
  if ((options.platform ?? process.platform) === 'win32') return readRegistryPolFile(unc, unc, field, what);
  throw new ProvisioningError('ERROR_NOT_SUPPORTED', `reading ${what} from ${unc} needs SYSVOL: this OS cannot open UNC paths, so pass sysvolRoot (a mounted or copied SYSVOL share)`, {
    field,
  });
}
