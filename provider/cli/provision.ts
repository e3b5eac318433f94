// `odj provision`: djoin /provision over LDAP, for one machine or a batch over one connection.
// Everything the user gave is checked (flags, every batch line, output paths) before the DC is
// contacted, so a mistake never leaves an account without its package file.
import { join } from 'node:path';
import type { ConnectionSettings, ProvisioningParams, ProvisionResult } from '../backend';
import { ProvisioningError } from '../errors';
import { packageToFileForm } from '../odj/text';
import { validateParams, type ValidatedParams } from '../params/validation';
import { deleteByDn } from '../directory/accounts';
import { provisionOne } from '../directory/provision';
import { openDomain } from '../directory/domain';
import type { DirectoryConnection } from '../directory/connection';
import type { Discovery } from '../directory/discovery';
import { bool, list, nonEmpty, parse, type Parsed } from './args';
import { bindPassword, connectionFromArgs } from './connection';
import { assertAbsent, makeOutputDir, readFileInput, readInput, writeSecretFile } from './io';
import { Limits } from '../limits';
import { describeError, describeResult, resultFacts } from './output';
import { HELP, UsageError } from './usage';
import { provisionOptions as options } from './provision-options';
import { accountNameOf } from '../odj/ids';

const C = 'provision';


/** djoin takes policy lists separated by semicolons; we also take the flag repeated. */
const splitList = (p: Parsed, k: string): string[] | undefined => {
  const v = list(p, k).flatMap((x) => x.split(';')).map((x) => x.trim());
  if (v.some((x) => x === '')) throw new UsageError(`--${k} has an empty name`, C);
  return v.length ? v : undefined;
};

/** `--certpfx TEMPLATE=FILE`: the PFX the LDAP backend puts in the package for that template
 *  (it cannot enroll). The file is read here; its bytes are checked by validateParams. */
function certPfx(p: Parsed): ProvisioningParams['certificates'] {
  const out = list(p, 'certpfx').map((v) => {
    const m = /^([^=]+)=(.+)$/.exec(v);
    if (!m || m[1].trim() === '') throw new UsageError('--certpfx takes TEMPLATE=FILE', C);
    const pfx = readFileInput(m[2], C, Limits.pfxFileBytes, 'a PFX file');
    return { templateName: m[1].trim(), pfx: new Uint8Array(pfx) };
  });
  return out.length ? out : undefined;
}

/** The ProvisioningParams every machine shares, from the flags. */
function baseParams(p: Parsed): Omit<ProvisioningParams, 'machineName'> {
  const domain = nonEmpty(p, 'domain', C);
  if (!domain) throw new UsageError('--domain is required', C);
  const psite = nonEmpty(p, 'psite', C);
  const dsite = nonEmpty(p, 'dsite', C);
  if (psite && dsite) throw new UsageError('--psite and --dsite are alternatives: a persistent or a dynamic site', C);
  const opts = {
    reuseAccount: bool(p, 'reuse'),
    useDefaultPassword: bool(p, 'defpwd'),
    skipAccountSearch: bool(p, 'nosearch'),
    downlevelPrivSupport: bool(p, 'downlevel'),
    rootCaCerts: bool(p, 'rootcacerts'),
    persistentSite: !!psite,
  };
  const certTemplateNames = list(p, 'certtemplate');
  if (certTemplateNames.some((x) => x.trim() === '')) throw new UsageError('--certtemplate needs a template name', C);
  const params: Omit<ProvisioningParams, 'machineName'> = {
    domain,
    options: Object.fromEntries(Object.entries(opts).filter(([, v]) => v)),
  };
  const set = <K extends keyof ProvisioningParams>(k: K, v: ProvisioningParams[K] | undefined): void => {
    if (v !== undefined) (params as ProvisioningParams)[k] = v;
  };
  set('machineAccountOU', nonEmpty(p, 'machineou', C));
  set('dcName', nonEmpty(p, 'dcname', C));
  set('certTemplateNames', certTemplateNames.length ? certTemplateNames : undefined);
  set('machinePolicyNames', splitList(p, 'policynames'));
  set('machinePolicyPaths', splitList(p, 'policypaths'));
  set('certificates', certPfx(p));
  set('sysvolRoot', nonEmpty(p, 'sysvolroot', C));
  set('netbiosName', nonEmpty(p, 'netbios', C));
  set('siteName', psite ?? dsite);
  set('primaryDnsDomain', nonEmpty(p, 'primarydns', C));
  // One tag for a whole batch: the marker is per account anyway (it sits on each NAME$), so a
  // rerun of an interrupted batch with the same tag adopts what the first run left.
  set('ownerTag', nonEmpty(p, 'owner-tag', C));
  if (bool(p, 'enable')) {
    if (!bool(p, 'reuse')) throw new UsageError('--enable goes with --reuse (a new account is always enabled)', C);
    params.enableAccount = true;
  }
  return params;
}

interface Job {
  /** where the request came from, for messages (`--machine` or `line 12`) */
  origin: string;
  params: ProvisioningParams;
  v: ValidatedParams;
  savefile?: string;
}

/** The batch file as text: UTF-8 (a BOM is dropped by trim), or UTF-16LE with its BOM (what
 *  Windows PowerShell's Out-File writes). UTF-16 without a BOM gets a hint instead of a list of
 *  bad machine names. */
function batchText(bytes: Buffer, path: string): string {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString('utf16le');
  if ((bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) || bytes.includes(0)) {
    throw new UsageError(`${path} looks like UTF-16 text without a little-endian byte-order mark (it holds NUL bytes); save it as UTF-8 or UTF-16LE with BOM`, C);
  }
  return bytes.toString('utf8');
}

/** `NAME [OU-DN]` per line; blank lines and # comments skipped. */
function batchLines(text: string): { line: number; name: string; ou?: string }[] {
  const out: { line: number; name: string; ou?: string }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const s = raw.trim();
    if (s === '' || s.startsWith('#')) return;
    const m = /^(\S+)(?:\s+(.+))?$/.exec(s) as RegExpExecArray;
    out.push({ line: i + 1, name: m[1], ...(m[2] ? { ou: m[2].trim() } : {}) });
  });
  return out;
}

async function jobsOf(p: Parsed, base: Omit<ProvisioningParams, 'machineName'>): Promise<Job[]> {
  const batch = nonEmpty(p, 'batch', C);
  if (!batch) {
    const machine = nonEmpty(p, 'machine', C);
    if (!machine) throw new UsageError('--machine is required (or --batch FILE)', C);
    const savefile = nonEmpty(p, 'savefile', C);
    if (savefile) assertAbsent(savefile, '--savefile', C);
    const params = { ...base, machineName: machine };
    return [{ origin: '--machine', params, v: validateParams(params), ...(savefile ? { savefile } : {}) }];
  }
  const dir = nonEmpty(p, 'savedir', C) as string;
  const lines = batchLines(batchText(await readInput(batch, C, Limits.batchFileBytes, 'a batch file'), batch));
  if (lines.length === 0) throw new UsageError(`${batch} names no machine`, C);
  const seen = new Map<string, number>();
  const errors: string[] = [];
  const jobs: Job[] = [];
  for (const l of lines) {
    const origin = `line ${l.line}`;
    const key = l.name.toUpperCase();
    if (seen.has(key)) {
      errors.push(`${origin}: ${l.name} is already on line ${seen.get(key)}`);
      continue;
    }
    seen.set(key, l.line);
    const params = { ...base, machineName: l.name, ...(l.ou ? { machineAccountOU: l.ou } : {}) };
    try {
      jobs.push({ origin, params, v: validateParams(params), savefile: join(dir, `${l.name}.txt`) });
    } catch (e) {
      if (!(e instanceof ProvisioningError)) throw e;
      errors.push(`${origin}: ${describeError(e)}`);
    }
  }
  if (errors.length) throw new ProvisioningError('ERROR_INVALID_PARAMETER', `${batch}: nothing was provisioned:\n  ${errors.join('\n  ')}`);
  const d0 = jobs[0].v.domain;
  makeOutputDir(dir, '--savedir', C);
  for (const j of jobs) {
    assertAbsent(j.savefile as string, 'package file', C);
    // Validation gives every job the same domain and DC; the one connection serves them all.
    if (j.v.domain.domain !== d0.domain || j.v.domain.dcName !== d0.dcName) throw new UsageError('a batch goes to one domain and DC', C);
  }
  return jobs;
}

/** Flag combinations, before anything is read or written. */
function checkCombinations(p: Parsed): void {
  if (p.values.batch === undefined) {
    if (p.values.savedir !== undefined) throw new UsageError('--savedir goes with --batch', C);
    if (p.values.machine === undefined) throw new UsageError('--machine is required (or --batch FILE)', C);
    if (p.values.savefile === undefined && !bool(p, 'printblob')) throw new UsageError('say where the package goes: --savefile FILE and/or --printblob', C);
    return;
  }
  for (const k of ['machine', 'savefile', 'printblob']) {
    if (p.values[k] !== undefined) throw new UsageError(`--${k} does not go with --batch (each line names a machine; --savedir holds the files)`, C);
  }
  if (!nonEmpty(p, 'savedir', C)) throw new UsageError('--batch needs --savedir DIR for the package files', C);
  if (p.values.batch === '-' && p.values['password-file'] === '-') throw new UsageError('--batch - and --password-file - cannot both read stdin', C);
}

/** Writes the package; if that fails, an account we just created is deleted again. */
async function deliver(conn: DirectoryConnection, job: Job, r: ProvisionResult, printblob: boolean): Promise<void> {
  if (job.savefile) {
    try {
      writeSecretFile(job.savefile, packageToFileForm(r.packageBinary));
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code ?? 'error';
      let after = r.reused ? 'the reused account has a new password that only this lost package held' : 'the account was deleted again';
      if (!r.reused) await deleteByDn(conn, r.account.distinguishedName).catch(() => (after = 'deleting the new account failed too'));
      // One prefix: the field says --savefile; a batch line says which line (its tag is printed too).
      throw new ProvisioningError('ERROR_ACCESS_DENIED', `cannot write ${job.savefile} (${why}); ${after}`, { field: 'savefile' });
    }
  }
  if (printblob) process.stdout.write(`${r.packageText}\n`);
}

/**
 * SIGINT and SIGTERM, in every mode, never leave an account without its package: the machine in
 * hand is finished (its file written, or its new account removed again when that fails, as deliver
 * does) and nothing after it starts. What happened is said on stderr. A second signal only says
 * what is still going on; a third quits at once and says which account may remain.
 */
class Interruption {
  signal: NodeJS.Signals | undefined;
  inHand: Job | undefined;
  private count = 0;
  private readonly handler = (sig: NodeJS.Signals): void => this.on(sig);

  constructor() {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
  }

  remove(): void {
    process.removeListener('SIGINT', this.handler);
    process.removeListener('SIGTERM', this.handler);
  }

  exitCode(): number {
    return this.signal === 'SIGTERM' ? 143 : 130;
  }

  private on(sig: NodeJS.Signals): void {
    this.count++;
    this.signal ??= sig;
    const name = this.inHand?.params.machineName;
    if (this.count >= 3) {
      process.stderr.write(`odj: ${sig}: quitting now${name ? `; the account ${accountNameOf(name)} may exist without its package file: check it, and remove it with odj delete --machine ${name} if so` : ''}\n`);
      process.exit(sig === 'SIGTERM' ? 143 : 130);
    }
    if (this.count === 2) {
      process.stderr.write(`odj: ${sig}: still finishing ${name ?? 'the connection'} (each DC step has a timeout); once more to quit now and leave it as it is\n`);
      return;
    }
    process.stderr.write(
      name
        ? `odj: interrupted; stopping after the current machine (${sig}): ${name} is finished first (its package written, or its new account removed)\n`
        : `odj: interrupted; stopping before any machine is provisioned (${sig})\n`,
    );
  }
}

interface RunContext {
  conn: DirectoryConnection;
  discovery: Discovery;
  stop: Interruption;
  isBatch: boolean;
  printblob: boolean;
  quiet: boolean;
  say: (s: string) => void;
}

/** One machine of the run: provision it, deliver its package, report it. In a batch a failure is
 *  reported and the run goes on (failed: true); a single machine's failure is thrown. */
async function provisionJob(ctx: RunContext, job: Job, tag: string): Promise<{ facts: Record<string, unknown>; failed: boolean }> {
  const { conn, stop, isBatch } = ctx;
  stop.inHand = job;
  try {
    if (!conn.client.isConnected) throw new ProvisioningError('ERROR_DS_SERVER_DOWN', 'the connection to the DC was lost earlier in this batch', { field: 'connection.url' });
    const r = await provisionOne(conn, ctx.discovery, job.v.account);
    await deliver(conn, job, r, ctx.printblob);
    // Warnings go to stderr whatever else is asked for: they are about a machine that may break.
    for (const w of r.warnings ?? []) process.stderr.write(`${tag}odj: warning: ${w}\n`);
    const facts = { machineName: job.params.machineName, ...resultFacts(r, job.savefile) };
    if (isBatch) {
      if (!ctx.quiet) process.stderr.write(`${tag}${r.reused ? 'reused' : 'created'} ${r.account.distinguishedName}${r.account.enabled === false ? ' (disabled: kept disabled; --enable re-enables)' : ''}\n`);
    } else ctx.say(describeResult(r, job.savefile));
    if (stop.signal) process.stderr.write(`odj: ${job.params.machineName} was finished before stopping: ${job.savefile ? `its package is in ${job.savefile}` : 'its package was printed'}\n`);
    return { facts, failed: false };
  } catch (e) {
    if (stop.signal && e instanceof ProvisioningError) process.stderr.write(`odj: ${job.params.machineName} failed while stopping; no account was left without its package (see the error)\n`);
    if (!(e instanceof ProvisioningError) || !isBatch) throw e;
    process.stderr.write(`${tag}odj: ${describeError(e)}\n`);
    return { facts: { machineName: job.params.machineName, error: { code: e.code, errno: e.errno, message: e.message } }, failed: true };
  } finally {
    stop.inHand = undefined;
  }
}

export async function run(args: string[]): Promise<number> {
  const p = parse(C, args, options, false);
  if (bool(p, 'help')) {
    process.stdout.write(HELP.provision + '\n');
    return 0;
  }
  const json = bool(p, 'json');
  const quiet = bool(p, 'quiet');
  const printblob = bool(p, 'printblob');
  if (json && printblob) throw new UsageError('--json and --printblob both want stdout; use --savefile with --json', C);
  const base = baseParams(p);
  checkCombinations(p);
  const connection: ConnectionSettings = connectionFromArgs(p, C);
  const jobs = await jobsOf(p, base);
  if (connection.auth !== 'kerberos') connection.bindPassword = await bindPassword(p, connection.bindUser as string, C);

  const isBatch = p.values.batch !== undefined;
  // Summaries go to stderr when stdout carries the package text.
  const say = (s: string): void => {
    if (!quiet && !json) (printblob ? process.stderr : process.stdout).write(s);
  };
  const stop = new Interruption();
  let opened: Awaited<ReturnType<typeof openDomain>>;
  try {
    opened = await openDomain(jobs[0].v.domain, connection);
  } catch (e) {
    stop.remove();
    throw e;
  }
  const { conn, discovery } = opened;
  // Which DC holds the accounts (a single package's summary names it too).
  if (isBatch && !quiet) process.stderr.write(`odj: using DC ${discovery.domainFacts.dcName} (${discovery.domainFacts.dcAddress})\n`);
  const facts: Record<string, unknown>[] = [];
  let failed = 0;
  try {
    const ctx: RunContext = { conn, discovery, stop, isBatch, printblob, quiet, say };
    for (const [i, job] of jobs.entries()) {
      if (stop.signal) break;
      const tag = isBatch ? `[${i + 1}/${jobs.length}] ${job.params.machineName}: ` : '';
      const done = await provisionJob(ctx, job, tag);
      facts.push(done.facts);
      if (done.failed) failed++;
    }
  } finally {
    stop.remove();
    await conn.close();
  }
  if (json && (isBatch || facts.length)) process.stdout.write(JSON.stringify(isBatch ? facts : facts[0], null, 2) + '\n');
  if (isBatch) {
    say(`${facts.length - failed} of ${jobs.length} provisioned; packages in ${nonEmpty(p, 'savedir', C)}\n`);
    if (failed) process.stderr.write(`odj: ${failed} of ${jobs.length} failed\n`);
  }
  if (stop.signal) {
    if (facts.length < jobs.length) {
      process.stderr.write(`odj: interrupted: ${jobs.length - facts.length} not tried, from ${jobs[facts.length].params.machineName} (${jobs[facts.length].origin})\n`);
    }
    return stop.exitCode();
  }
  return failed ? 1 : 0;
}
