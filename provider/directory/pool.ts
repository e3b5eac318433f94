// Bound connections kept for reuse within one process: the Pulumi provider host runs Create, Read,
// Update and Delete of many resources, and a library caller may make many calls; each used to
// open TLS, bind, ping and discover afresh. A connection is reused only by a caller with the same
// identity (identityKey: the DC's URL, bind user, a salted hash of the password or the Kerberos
// credential, TLS settings, timeouts), never across bind identities. At most
// Limits.connectionsPerDc connections per DC, as before: a caller beyond that waits for one to be
// given back (the same identity gets it as it is; another identity gets its slot). Idle connections
// close after IDLE_MS, their sockets unref'd meanwhile, so a process with nothing else to do exits
// at once. A connection that broke is never given out: it is closed and replaced.
import { createHash, randomBytes } from 'node:crypto';
import type { ConnectionSettings } from '../backend';
import type { DirectoryConnection } from './connection';
import { Limits } from '../limits';
import { onSlotWanted } from './slots';

/** How long an idle connection is kept: long enough for the next resource of the same `up`. */
export const IDLE_MS = 3_000;

// Per process: a key cannot be matched against a guessed password outside this process.
const SALT = randomBytes(32);

/** The identity of a bound connection, as an opaque hash: the settings that make two connections
 *  differ, the DC's URL, and the credential (password, keytab, ticket cache) only inside the hash. */
export function identityKey(settings: ConnectionSettings, dcUrl: string): string {
  const kerberos = settings.auth === 'kerberos';
  const parts = [
    dcUrl.toLowerCase(),
    settings.auth ?? 'simple',
    settings.bindUser ?? '',
    settings.bindPassword ?? '',
    kerberos ? (settings.keytab ?? '') : '',
    // Without a keytab, Kerberos signs in with whatever ticket cache the environment names.
    kerberos && !settings.keytab ? (process.env.KRB5CCNAME ?? '') : '',
    settings.startTls === true,
    settings.insecureSkipTlsVerify === true,
    settings.caCerts ?? [],
    settings.timeoutMs ?? 0,
  ];
  return createHash('sha256').update(SALT).update(JSON.stringify(parts)).digest('hex');
}

export interface Pooled<T> {
  conn: DirectoryConnection;
  /** what was learned on the connection (the DC's name, the base DN), kept with it */
  facts: T;
  /** the DC it was counted under (acquire's url; the connection may have failed over elsewhere) */
  countedAs?: string;
}

/** How long a reused connection has to answer a root DSE read before it is taken for dead. */
const ALIVE_MS = 2_000;

interface Idle {
  key: string;
  pooled: Pooled<unknown>;
  timer: NodeJS.Timeout;
}

interface Waiter {
  key: string;
  /** a connection of this identity, or undefined: a slot is free, open your own */
  give: (p: Pooled<unknown> | undefined) => void;
}

interface Dc {
  /** connections of the pool to this DC: lent, idle or being opened */
  open: number;
  idle: Idle[];
  waiting: Waiter[];
  /** fires when no connection came back for a whole wait while callers wait (see acquire) */
  watchdog?: NodeJS.Timeout;
}

const dcs = new Map<string, Dc>();

function dcOf(url: string): Dc {
  let dc = dcs.get(url);
  if (!dc) dcs.set(url, (dc = { open: 0, idle: [], waiting: [] }));
  return dc;
}

function forget(url: string, dc: Dc): void {
  if (dc.open === 0 && dc.waiting.length === 0 && dcs.get(url) === dc) dcs.delete(url);
}

/**
 * A bound connection of that identity to that DC: an idle one, else a new one from `open` while the
 * DC has a free slot, else the next one given back (in line; when the line has not moved for
 * `waitMs`, opening anyway, and slots.ts bounds that wait). `open` connects and binds; its failure
 * goes to the caller.
 */
export async function acquire<T>(key: string, url: string, open: () => Promise<Pooled<T>>, waitMs: number): Promise<Pooled<T>> {
  const dc = dcOf(url);
  const idle = await takeIdle<T>(dc, key);
  if (idle) return idle;
  if (dc.open >= Limits.connectionsPerDc) {
    // A long line that moves (a thousand resources of one `up`) is waited out: the DC is the limit
    // then, and opening more connections would only add TLS handshakes and binds. The bound is on
    // a line that stops moving: when no connection came back for waitMs, every waiter opens its
    // own, and slots.ts makes each wait for a real slot.
    const given = await new Promise<Pooled<unknown> | undefined>((resolve) => {
      dc.waiting.push({ key, give: resolve });
      dc.watchdog ??= setTimeout(() => stalled(dc), waitMs).unref();
    });
    if (given) return given as Pooled<T>;
  }
  dc.open++;
  try {
    return { ...(await open()), countedAs: url };
  } catch (e) {
    dc.open--;
    wake(dc);
    forget(url, dc);
    throw e;
  }
}

/** An idle connection of that identity that still answers. One the DC (or anything between)
 *  dropped while idle, or a DC that stopped answering, is closed and skipped, never given out:
 *  the caller then opens a new one, which finds another DC when the locator chose this one. */
async function takeIdle<T>(dc: Dc, key: string): Promise<Pooled<T> | undefined> {
  for (;;) {
    let i = dc.idle.length - 1;
    while (i >= 0 && dc.idle[i].key !== key) i--;
    if (i < 0) return undefined;
    const [entry] = dc.idle.splice(i, 1);
    clearTimeout(entry.timer);
    const { conn } = entry.pooled;
    conn.resume();
    if (conn.reusable && (await conn.answers(ALIVE_MS))) return entry.pooled as Pooled<T>;
    dc.open--;
    await conn.close();
  }
}

/** Count a connection the caller opened itself (the first of a domain, through the locator), so
 *  that it can be given back with release. */
export function adopt<T>(pooled: Pooled<T>): Pooled<T> {
  dcOf(pooled.conn.url).open++;
  return { ...pooled, countedAs: pooled.conn.url };
}

/** A free slot: the first waiter opens its own connection. */
function wake(dc: Dc): void {
  next(dc)?.give(undefined);
}

/** The first waiter (or the first of that identity), taken out of the line: the line moved. */
function next(dc: Dc, key?: string): Waiter | undefined {
  const i = key === undefined ? 0 : dc.waiting.findIndex((w) => w.key === key);
  if (i < 0 || i >= dc.waiting.length) return undefined;
  const [w] = dc.waiting.splice(i, 1);
  if (dc.waiting.length === 0) {
    clearTimeout(dc.watchdog);
    dc.watchdog = undefined;
  } else dc.watchdog?.refresh();
  return w;
}

/** No connection came back for a whole wait: the waiters stop waiting for the pool. */
function stalled(dc: Dc): void {
  dc.watchdog = undefined;
  for (const w of dc.waiting.splice(0)) w.give(undefined);
}

/**
 * Give a connection back after use: to a waiter of the same identity, else kept idle for IDLE_MS,
 * or closed when it broke, when `keep` is false, or when a waiter of another identity needs the slot.
 */
export async function release<T>(key: string, pooled: Pooled<T>, keep = true): Promise<void> {
  const url = pooled.countedAs ?? pooled.conn.url;
  const dc = dcOf(url);
  if (keep && pooled.conn.reusable) {
    const same = next(dc, key);
    if (same) return same.give(pooled);
    if (dc.waiting.length === 0) {
      pooled.conn.park();
      const entry: Idle = { key, pooled, timer: setTimeout(() => void closeIdleEntry(url, entry), IDLE_MS).unref() };
      dc.idle.push(entry);
      return;
    }
  }
  dc.open = Math.max(0, dc.open - 1);
  await pooled.conn.close();
  wake(dc);
  forget(url, dc);
}

async function closeIdleEntry(url: string, entry: Idle): Promise<void> {
  const dc = dcs.get(url);
  if (!dc) return;
  const i = dc.idle.indexOf(entry);
  if (i < 0) return;
  dc.idle.splice(i, 1);
  clearTimeout(entry.timer);
  dc.open--;
  await entry.pooled.conn.close();
  wake(dc);
  forget(url, dc);
}

// Another caller (outside the pool, or of another identity) waits for a slot to a DC whose slots
// idle connections hold: close one of them.
onSlotWanted((url) => {
  const entry = dcs.get(url)?.idle[0];
  if (entry) void closeIdleEntry(url, entry);
});

/** Close the idle connections whose identity key and DC URL `which` picks (a session closing). */
export async function closeIdle(which: (key: string, url: string) => boolean): Promise<void> {
  await Promise.all([...dcs.entries()].flatMap(([url, dc]) => dc.idle.filter((e) => which(e.key, url)).map((e) => closeIdleEntry(url, e))));
}

/** Close every idle connection: a library caller done with the directory, or a test. Lent
 *  connections are closed when given back. */
export async function closePool(): Promise<void> {
  await closeIdle(() => true);
}

/** Connections per DC URL, for diagnostics and tests: counts only, never a key. */
export function poolUse(): Record<string, { open: number; idle: number; waiting: number }> {
  return Object.fromEntries([...dcs].map(([url, dc]) => [url, { open: dc.open, idle: dc.idle.length, waiting: dc.waiting.length }]));
}
