// `odj delete`: remove computer accounts by name or objectGUID over one connection, with the child
// objects computers carry (BitLocker, TPM, service connection points; never a tree delete).
// Refuses anything that is not a plain computer account (account/safety.ts).
import { ProvisioningError } from '../errors';
import { checkDcName, checkDomain, checkMachineName } from '../params/validation';
import { accountNameOf, isGuid, normalizeGuid } from '../odj/ids';
import { checkedAccount, deleteByDn, findAccountByGuid, findAccountBySamName, type FoundAccount } from '../directory/accounts';
import { reachDomainDc } from '../directory/domain';
import type { DirectoryConnection } from '../directory/connection';
import { readRootDse } from '../directory/discovery';
import { bool, connectionOptions, list, nonEmpty, parse } from './args';
import { bindPassword, connectionFromArgs } from './connection';
import { describeError } from './output';
import { HELP, UsageError } from './usage';

const C = 'delete';

type DeleteArgs = ReturnType<typeof parseArgs>;

function parseArgs(args: string[]) {
  return parse(
    C,
    args,
    {
      domain: { type: 'string' },
      dcname: { type: 'string' },
      machine: { type: 'string', multiple: true },
      guid: { type: 'string', multiple: true },
      'ignore-missing': { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      ...connectionOptions,
    },
    false,
  );
}

/** What to delete and where, checked with the same rules as provisioning before anything is contacted. */
function request(p: DeleteArgs) {
  const domain = nonEmpty(p, 'domain', C);
  if (!domain) throw new UsageError('--domain is required', C);
  const dcName = nonEmpty(p, 'dcname', C);
  const machines = list(p, 'machine');
  const guids = list(p, 'guid');
  if (machines.length + guids.length === 0) throw new UsageError('name the accounts: --machine NAME or --guid GUID', C);
  for (const g of guids) if (!isGuid(g)) throw new UsageError(`--guid ${g} is not a GUID`, C);
  return {
    domain,
    dnsDomain: checkDomain(domain),
    dc: dcName ? checkDcName(dcName) : undefined,
    accountNames: machines.map((m) => accountNameOf(checkMachineName(m))),
    guids,
  };
}

interface Wanted {
  label: string;
  find: () => Promise<FoundAccount | null>;
  field: string;
}

/** Delete each account over the connection; a failure is reported and the next one tried.
 *  Returns how many failed. */
async function deleteEach(conn: DirectoryConnection, wanted: Wanted[], domain: string, opts: { quiet: boolean; ignoreMissing: boolean }): Promise<number> {
  let failed = 0;
  for (const w of wanted) {
    try {
      const found = await w.find();
      if (!found) {
        if (opts.ignoreMissing) {
          if (!opts.quiet) process.stdout.write(`${w.label}: not found, nothing to delete\n`);
          continue;
        }
        throw new ProvisioningError('NERR_UserNotFound', `${w.label} does not exist in ${domain}`, { field: w.field });
      }
      checkedAccount(found, 'delete', w.field);
      await deleteByDn(conn, found.distinguishedName);
      if (!opts.quiet) process.stdout.write(`Deleted ${found.distinguishedName} (${found.objectGuid})\n`);
    } catch (e) {
      if (!(e instanceof ProvisioningError)) throw e;
      failed++;
      process.stderr.write(`odj: ${describeError(e)}\n`);
    }
  }
  return failed;
}

export async function run(args: string[]): Promise<number> {
  const p = parseArgs(args);
  if (bool(p, 'help')) {
    process.stdout.write(HELP.delete + '\n');
    return 0;
  }
  const r = request(p);
  const connection = connectionFromArgs(p, C);
  if (connection.auth !== 'kerberos') connection.bindPassword = await bindPassword(p, connection.bindUser as string, C);
  // The same DC choice as provisioning: --url, else --dcname, else the DC locator's.
  const { conn, ping } = await reachDomainDc({ domain: r.dnsDomain, ...(r.dc ? { dcName: r.dc } : {}) }, connection);
  try {
    // Reached through the domain's name, the DC is whichever answered: Kerberos names it by its own.
    await conn.bind(conn.host.toLowerCase() === r.dnsDomain.toLowerCase() ? ping.dnsHostName : undefined);
    const base = (await readRootDse(conn)).defaultNamingContext;
    const wanted: Wanted[] = [
      ...r.accountNames.map((sam) => ({ label: sam, find: () => findAccountBySamName(conn, base, sam), field: 'machineName' })),
      ...r.guids.map((g) => ({ label: g, find: () => findAccountByGuid(conn, base, normalizeGuid(g)), field: 'objectGuid' })),
    ];
    const failed = await deleteEach(conn, wanted, r.domain, { quiet: bool(p, 'quiet'), ignoreMissing: bool(p, 'ignore-missing') });
    return failed ? 1 : 0;
  } finally {
    await conn.close();
  }
}
