// The certificate and policy parts of a package, fetched over the open connection before any
// account is written (so a missing GPO or a bad Registry.pol never leaves an account behind):
// - rootCaCerts → one SST store for the local machine's Root store with the forest's enterprise root CAs;
// - certificates → one PFX store each, as validated;
// - machinePolicyNames, then machinePolicyPaths → one HKLM element list per Registry.pol.
import type { PackageContentRequest } from '../params/content';
import type { PackageFacts, PolicyElementList, SstStore } from '../odj';
import { CERT_SYSTEM_STORE_LOCAL_MACHINE, encodeSst } from '../odj/sst';
import { readEnterpriseRootCas } from './certificates';
import type { DirectoryConnection } from './connection';
import type { Discovery } from './discovery';
import { findGpoByName, readGpoMachinePolicy, readPolicyPath } from './policies';

/** The store name Windows' certificate stores use for trusted roots. */
const ROOT_STORE_NAME = 'ROOT';

export async function resolvePackageContent(
  conn: DirectoryConnection,
  d: Discovery,
  req: PackageContentRequest,
): Promise<Pick<PackageFacts, 'certificates' | 'policies'>> {
  const out: Pick<PackageFacts, 'certificates' | 'policies'> = {};
  const sstStores: SstStore[] = [];
  if (req.rootCaCerts) {
    const cas = await readEnterpriseRootCas(conn, d.rootDse.configurationNamingContext);
    sstStores.push({ storeLocation: CERT_SYSTEM_STORE_LOCAL_MACHINE, storeName: ROOT_STORE_NAME, sst: encodeSst(cas.map((c) => c.der)) });
  }
  if (sstStores.length > 0 || req.pfxStores.length > 0) out.certificates = { pfxStores: req.pfxStores, sstStores };
  const policies: PolicyElementList[] = [];
  // Errors name the list (the entry is in the message), as the CLI maps fields to its flags.
  for (const name of req.machinePolicyNames) {
    const gpo = await findGpoByName(conn, d.head.dn, name, 'machinePolicyNames');
    policies.push(await readGpoMachinePolicy(gpo, { sysvolRoot: req.sysvolRoot }, 'machinePolicyNames'));
  }
  for (const path of req.machinePolicyPaths) policies.push(await readPolicyPath(path, 'machinePolicyPaths'));
  if (policies.length > 0) out.policies = policies;
  return out;
}
