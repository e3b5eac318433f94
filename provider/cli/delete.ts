// `odj delete`: remove computer accounts by name or objectGUID over one connection, with the child
// objects computers carry (BitLocker, TPM, service connection points; never a tree delete).
// Refuses anything that is not a plain computer account (account/safety.ts).
import { ProvisioningError } from '../errors';
import { checkDcName, checkDomain, checkMachineName } from '../params/validation';
import { accountNameOf, isGuid, normalizeGuid } from '../odj/ids';
import { checkedAccount, deleteByDn, findAccountByGuid, findAccountBySamName, type FoundAccount } from '../directory/accounts';
import { reachDomainDc } from '../directory/domain';
import { readRootDse } from '../directory/discovery';
import { bool, connectionOptions, list, nonEmpty, parse } from './args';
import { bindPassword, connectionFromArgs } from './connection';
import { describeError } from './output';
import { HELP, UsageError } from './usage';

const C = 'delete';

export async function run(args: string[]): Promise<number> {
  const p = parse(
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
  if (bool(p, 'help')) {
    process.stdout.write(HELP.delete + '\n');
    return 0;
  }
  const domain = nonEmpty(p, 'domain', C);
  if (!domain) throw new UsageError('--domain is required', C);
  const dcName = nonEmpty(p, 'dcname', C);
  const machines = list(p, 'machine');
  const guids = list(p, 'guid');
  if (machines.length + guids.length === 0) throw new UsageError('name the accounts: --machine NAME or --guid GUID', C);
  for (const g of guids) if (!isGuid(g)) throw new UsageError(`--guid ${g} is not a GUID`, C);
  // The same rules as provisioning for the domain, DC and machine names.
  const dnsDomain = checkDomain(domain);
  const accountNames = machines.map((m) => accountNameOf(checkMachineName(m)));
  const dc = dcName ? checkDcName(dcName) : undefined;
  const connection = connectionFromArgs(p, C);
  if (connection.auth !== 'kerberos') connection.bindPassword = await bindPassword(p, connection.bindUser as string, C);
  const quiet = bool(p, 'quiet');
  const ignoreMissing = bool(p, 'ignore-missing');
  let failed = 0;
  // The same DC choice as provisioning: --url, else --dcname, else the DC locator's.
  const { conn, ping } = await reachDomainDc({ domain: dnsDomain, ...(dc ? { dcName: dc } : {}) }, connection);
  try {
    // Reached through the domain's name, the DC is whichever answered: Kerberos names it by its own.
    await conn.bind(conn.host.toLowerCase() === dnsDomain.toLowerCase() ? ping.dnsHostName : undefined);
    const base = (await readRootDse(conn)).defaultNamingContext;
    const wanted: { label: string; find: () => Promise<FoundAccount | null>; field: string }[] = [
      ...accountNames.map((sam) => ({ label: sam, find: () => findAccountBySamName(conn, base, sam), field: 'machineName' })),
      ...guids.map((g) => ({ label: g, find: () => findAccountByGuid(conn, base, normalizeGuid(g)), field: 'objectGuid' })),
    ];
    for (const w of wanted) {
      try {
        const found = await w.find();
        if (!found) {
          if (ignoreMissing) {
            if (!quiet) process.stdout.write(`${w.label}: not found, nothing to delete\n`);
            continue;
          }
          throw new ProvisioningError('NERR_UserNotFound', `${w.label} does not exist in ${domain}`, { field: w.field });
        }
        checkedAccount(found, 'delete', w.field);
        await deleteByDn(conn, found.distinguishedName);
        if (!quiet) process.stdout.write(`Deleted ${found.distinguishedName} (${found.objectGuid})\n`);
      } catch (e) {
        if (!(e instanceof ProvisioningError)) throw e;
        failed++;
        process.stderr.write(`odj: ${describeError(e)}\n`);
      }
    }
  } finally {
    await conn.close();
  }
  return failed ? 1 : 0;
}
