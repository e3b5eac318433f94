// Connection settings for commands that talk to the DC: flags first, then the same environment
// variables the Pulumi provider reads. The bind password comes from a file, ODJ_BIND_PASSWORD or
// a no-echo prompt on a terminal; never from an argument.
import type { ConnectionSettings } from '../backend';
import { connectionEnvKeys, isTrueFlag, splitServerList } from '../connection-env';
import { isDnsServerAddress } from '../directory/dns';
import { Limits } from '../limits';
import { bindUserLabel, hasUrlCredentials, urlCredentialsRule } from '../credential-text';
import { bool, list, nonEmpty, str, type Parsed } from './args';
import { readFileInput, readInput } from './io';
import { UsageError } from './usage';

const env = connectionEnvKeys;
const truthy = (v: string | undefined): boolean => v !== undefined && isTrueFlag(v);

function readCa(path: string, command: string): string[] {
  const text = readFileInput(path, command, Limits.caCertTotalBytes, 'the CA file').toString('utf8');
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`${path} holds no PEM certificate`, command);
  return [text];
}

/** The first line of a password file (or stdin), without its line end. */
async function passwordFromFile(path: string, command: string): Promise<string> {
  const text = (await readInput(path, command, Limits.passwordFileBytes, 'the password file')).toString('utf8');
  const line = text.split(/\r?\n/)[0] ?? '';
  if (line === '') throw new UsageError(`the password file ${path} is empty`, command);
  return line;
}

/** Reads a line from the terminal with echo off. */
function prompt(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    // Echo off before the prompt shows: whatever is typed after it must never appear.
    stdin.setRawMode(true);
    process.stderr.write(question);
    stdin.resume();
    stdin.setEncoding('utf8');
    let value = '';
    const done = (err?: Error): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.removeListener('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string): void => {
      for (const c of chunk) {
        if (c === '\r' || c === '\n' || c === '\u0004') return done();
        if (c === '\u0003') return done(new UsageError('interrupted'));
        if (c === '\u007f' || c === '\b') value = value.slice(0, -1);
        else value += c;
      }
    };
    stdin.on('data', onData);
  });
}

/** Kerberos sign-in: --kerberos or --keytab, else ODJ_AUTH / ODJ_KEYTAB. */
function wantsKerberos(p: Parsed, command: string, e: NodeJS.ProcessEnv): boolean {
  const fromEnv = e[env.auth];
  if (fromEnv && fromEnv !== 'kerberos' && fromEnv !== 'simple') throw new UsageError(`${env.auth} must be kerberos or simple`, command);
  return bool(p, 'kerberos') || p.values.keytab !== undefined || fromEnv === 'kerberos' || (!fromEnv && !!e[env.keytab]);
}

/** Everything but the password, which `bindPassword` resolves (it may prompt). `warn: false` for a
 *  second reading of the same flags (early.ts), which must not repeat the warning. */
export function connectionFromArgs(p: Parsed, command: string, e: NodeJS.ProcessEnv = process.env, warn = true): ConnectionSettings {
  const url = nonEmpty(p, 'url', command) ?? (e[env.url] || undefined);
  if (url !== undefined && hasUrlCredentials(url)) {
    throw new UsageError(urlCredentialsRule(p.values.url !== undefined ? '--url' : env.url, '--user', '--password-file or ODJ_BIND_PASSWORD'), command);
  }
  const bindUser = nonEmpty(p, 'user', command) ?? (e[env.bindUser] || undefined);
  const caFile = nonEmpty(p, 'cafile', command) ?? (e[env.caFile] || undefined);
  const insecure = bool(p, 'insecure-skip-tls-verify') || truthy(e[env.insecureSkipTlsVerify]);
  if (insecure && caFile && p.values['insecure-skip-tls-verify']) {
    throw new UsageError('--cafile and --insecure-skip-tls-verify contradict each other', command);
  }
  let timeoutMs: number | undefined;
  const t = str(p, 'timeout');
  if (t !== undefined) {
    const s = Number(t);
    if (!Number.isFinite(s) || s <= 0 || s > 3600) throw new UsageError('--timeout takes seconds, a number between 0 and 3600', command);
    timeoutMs = Math.round(s * 1000);
  } else if (e[env.timeoutMs]) {
    const ms = Number(e[env.timeoutMs]);
    if (!Number.isFinite(ms) || ms <= 0) throw new UsageError(`${env.timeoutMs} must be a positive number of milliseconds`, command);
    timeoutMs = ms;
  }
  const dnsFlags = list(p, 'dns-server');
  const dnsServers = dnsFlags.length > 0 ? dnsFlags : e[env.dnsServers] ? splitServerList(e[env.dnsServers] as string) : [];
  const badServer = dnsServers.find((a) => !isDnsServerAddress(a));
  if (badServer !== undefined) throw new UsageError(`${dnsFlags.length ? '--dns-server' : env.dnsServers} takes IP addresses (optionally :port), not ${badServer.slice(0, 64)}`, command);
  const kerberos = wantsKerberos(p, command, e);
  const keytab = kerberos ? (nonEmpty(p, 'keytab', command) ?? (e[env.keytab] || undefined)) : undefined;
  if (kerberos && p.values['password-file'] !== undefined) throw new UsageError('--password-file does not go with Kerberos (--kerberos, --keytab): no password is used', command);
  if (keytab && !bindUser) throw new UsageError(`--keytab needs the principal whose keys it holds: --user user@REALM or ${env.bindUser}`, command);
  // With a ticket cache the cache names the principal; --user then only checks it is that one.
  if (!bindUser && !kerberos) throw new UsageError(`a bind user is required: --user USER or ${env.bindUser}`, command);
  // Said every time: with verification off, anyone on the path can take the bind password.
  if (insecure && warn) process.stderr.write("odj: warning: the DC's TLS certificate is not verified (--insecure-skip-tls-verify)\n");
  return {
    ...(url ? { url } : {}),
    ...(bool(p, 'starttls') || truthy(e[env.startTls]) ? { startTls: true } : {}),
    ...(bindUser ? { bindUser } : {}),
    ...(kerberos ? { auth: 'kerberos' as const } : {}),
    ...(keytab ? { keytab } : {}),
    ...(caFile ? { caCerts: readCa(caFile, command) } : {}),
    ...(insecure ? { insecureSkipTlsVerify: true } : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
    ...(dnsServers.length ? { dnsServers } : {}),
  };
}

/** True when `bindPassword` will have to ask on the terminal. */
export function willPrompt(p: Parsed, e: NodeJS.ProcessEnv = process.env): boolean {
  return p.values['password-file'] === undefined && !e[env.bindPassword] && !wantsKerberos(p, '', e);
}

/** The bind password: --password-file, then ODJ_BIND_PASSWORD, then a prompt on a terminal. */
export async function bindPassword(p: Parsed, user: string, command: string, e: NodeJS.ProcessEnv = process.env): Promise<string> {
  const file = nonEmpty(p, 'password-file', command);
  if (file !== undefined) return passwordFromFile(file, command);
  const fromEnv = e[env.bindPassword];
  if (fromEnv) return fromEnv;
  if (process.stdin.isTTY && process.stderr.isTTY) {
    const pw = await prompt(`Password for ${bindUserLabel(user)}: `);
    if (pw === '') throw new UsageError('no password given', command);
    return pw;
  }
  throw new UsageError(`no bind password: use --password-file FILE, set ${env.bindPassword}, or run on a terminal to be asked`, command);
}
