#!/usr/bin/env node
// `npm run bench`: odj against Samba's `net offlinejoin provision` on the test DC, side by side in
// one run, and both against the DC's own floor.
//   (a) one package per process: `odj provision` vs `net offlinejoin provision`, median of N runs
//   (b) BATCH packages: one `odj provision --batch` vs BATCH Samba runs
//   (c) the floor: one LDAP add with password over an open TLS connection (bench/floor.js), ×BATCH
//   (d) what finding the DC costs: `odj provision` with the DC locator (--dns-server, no --dcname)
//       vs with --dcname, median of N runs each
//   (a') the one-shot floor beside (a): a whole process that connects, binds and adds one account
//       with raw ldapts (bench/oneshot.js), median of N runs interleaved with (a)
//   (e) a stack: STACK OfflineJoinPackage resources through the real dynamic-provider host (created,
//       refreshed, destroyed, all at once as the engine does; bench/stack.js), each phase next to
//       the floor for the same STACK adds, base searches and deletes over one connection; the
//       host's peak RSS
// Prints a table and writes bench/results.json. Every account it makes is deleted again.
// Settings: ODJ_BENCH_RUNS (default 11), ODJ_BENCH_BATCH (default 100), ODJ_BENCH_ROUNDS (default 3),
// ODJ_BENCH_STACK (default 100; 1000 for the long run), ODJ_BENCH_ONLY (parts to run, e.g. `a,e`;
// default all), ODJ_TESTDC_ENV (a running DC's env file; otherwise scripts/testdc.sh starts one and
// stops it afterwards).
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { cpus, loadavg, tmpdir } = require('node:os');
const { join, resolve } = require('node:path');
const { randomBytes } = require('node:crypto');

const ROOT = resolve(__dirname, '..');
const CLI = join(ROOT, 'dist', 'provider', 'cli.js');
const TESTDC = join(ROOT, 'scripts', 'testdc.sh');
const RUNS = Number(process.env.ODJ_BENCH_RUNS || 11);
const ROUNDS = Number(process.env.ODJ_BENCH_ROUNDS || 3);
const BATCH = Number(process.env.ODJ_BENCH_BATCH || 100);
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
const STACK = Number(process.env.ODJ_BENCH_STACK || 100);
const ONLY = new Set((process.env.ODJ_BENCH_ONLY || 'a,b,d,e').split(',').map((x) => x.trim()));
const TARGETS = { ratio: 0.5, floorFactor: 1.15, rssMb: 150, oneshot: 1.2, stackCreate: 1.15, stackRead: 5, stackDelete: 1.5, stackRssMb: 200 };
const { stackBench } = require('./stack');

const { readEnv } = require('./env');

/** The DC's env file; starts the DC (and says so) when none is named or running. */
function ensureDc() {
  if (process.env.ODJ_TESTDC_ENV) return { file: process.env.ODJ_TESTDC_ENV, started: false };
  let running = true;
  try {
    execFileSync('bash', [TESTDC, 'status'], { stdio: 'ignore' });
  } catch {
    running = false;
  }
  const file = execFileSync('bash', [TESTDC, 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  return { file, started: !running };
}

/** A Samba client of its own: smb.conf with private directories, krb5.conf naming the KDC by
 *  address (nothing leaves loopback), and an auth file (0600) so no password is on a command line. */
function sambaClient(dir, dc) {
  const dirs = { 'private dir': 'private', 'state directory': 'state', 'cache directory': 'cache', 'lock directory': 'lock' };
  for (const d of Object.values(dirs)) mkdirSync(join(dir, d), { recursive: true, mode: 0o700 });
  const conf = join(dir, 'smb.conf');
  writeFileSync(conf, ['[global]', `workgroup = ${dc.ODJ_TEST_NETBIOS_DOMAIN}`, `realm = ${dc.ODJ_TEST_REALM}`, 'security = ads',
    ...Object.entries(dirs).map(([k, v]) => `${k} = ${join(dir, v)}`), `log file = ${join(dir, 'log.%m')}`, ''].join('\n'));
  const krb5 = join(dir, 'krb5.conf');
  writeFileSync(krb5, ['[libdefaults]', ` default_realm = ${dc.ODJ_TEST_REALM}`, ' dns_lookup_realm = false', ' dns_lookup_kdc = false', ' rdns = false',
    '[realms]', ` ${dc.ODJ_TEST_REALM} = {`, `  kdc = ${dc.ODJ_TEST_DC_IP}`, ' }', ''].join('\n'));
  const auth = join(dir, 'admin.auth');
  writeFileSync(auth, `username = ${dc.ODJ_TEST_ADMIN_USER.split('@')[0]}\npassword = ${dc.ODJ_TEST_ADMIN_PASSWORD}\ndomain = ${dc.ODJ_TEST_NETBIOS_DOMAIN}\n`, { mode: 0o600 });
  return { conf, auth, env: { ...process.env, KRB5_CONFIG: krb5, KRB5CCNAME: `FILE:${join(dir, 'ccache')}` } };
}

/** Runs a whole process; wall time from spawn to exit, peak RSS from /usr/bin/time. */
function timed(cmd, args, opts = {}) {
  return new Promise((resolvePromise, reject) => {
    const rssFile = join(opts.scratch, `rss-${randomBytes(4).toString('hex')}`);
    const [c, a] = TIME ? [TIME, ['-f', '%M %U %S', '-o', rssFile, cmd, ...args]] : [cmd, args];
    const t = process.hrtime.bigint();
    const child = spawn(c, a, { env: opts.env, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t) / 1e6;
      let rssKb = null;
      let cpuMs = null;
      if (TIME && existsSync(rssFile)) {
        const [kb, user, sys] = readFileSync(rssFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
        rssKb = kb;
        cpuMs = (user + sys) * 1000;
        rmSync(rssFile, { force: true });
      }
      resolvePromise({ ms, rssKb, cpuMs, code, stderr });
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const maxOf = (xs) => (xs.some((x) => x === null) ? null : Math.max(...xs));

function mustSucceed(what, r, secrets) {
  if (r.code === 0) return;
  let msg = r.stderr;
  for (const s of secrets) msg = msg.split(s).join('<redacted>');
  throw new Error(`${what} failed (exit ${r.code}): ${msg.trim().split('\n').slice(-5).join('\n')}`);
}

async function main() {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm run bench does)`);
  const dcFile = ensureDc();
  const dc = readEnv(dcFile.file);
  const secrets = [dc.ODJ_TEST_ADMIN_PASSWORD];
  const scratch = mkdtempSync(join(tmpdir(), 'odj-bench-'));
  const samba = sambaClient(join(scratch, 'samba'), dc);
  const odjEnv = { ...process.env, ODJ_BIND_PASSWORD: dc.ODJ_TEST_ADMIN_PASSWORD };
  const odjArgs = ['--domain', dc.ODJ_TEST_DOMAIN, '--dcname', dc.ODJ_TEST_DC_HOST, '--user', dc.ODJ_TEST_ADMIN_USER, '--cafile', dc.ODJ_TEST_CA_FILE];
  const tag = randomBytes(2).toString('hex').toUpperCase();
  const made = [];
  const note = (s) => process.stderr.write(`bench: ${s}\n`);

  const odjOne = async (name) => {
    made.push(name);
    const r = await timed(process.execPath, [CLI, 'provision', ...odjArgs, '--machine', name, '--savefile', join(scratch, `${name}.txt`), '-q'], { env: odjEnv, scratch });
    mustSucceed(`odj provision ${name}`, r, secrets);
    return r;
  };
  const sambaOne = async (name) => {
    made.push(name);
    const r = await timed('net', ['offlinejoin', 'provision', '-A', samba.auth, `--configfile=${samba.conf}`, `domain=${dc.ODJ_TEST_DOMAIN}`,
      `machine_name=${name}`, `dcname=${dc.ODJ_TEST_DC_HOST}`, `savefile=${join(scratch, `${name}.txt`)}`], { env: samba.env, scratch });
    mustSucceed(`net offlinejoin provision ${name}`, r, secrets);
    return r;
  };

  const oneshotOne = async (name) => {
    made.push(name);
    const r = await timed(process.execPath, [join(__dirname, 'oneshot.js'), dcFile.file, name], { env: process.env, scratch });
    mustSucceed(`oneshot ${name}`, r, secrets);
    return r;
  };

  const results = { when: new Date().toISOString(), node: process.version, samba: '', cpus: cpus().length, loadavgAtStart: loadavg(), runs: RUNS, batch: BATCH, rounds: ROUNDS, stack: STACK, parts: [...ONLY], targets: TARGETS };
  try {
    results.samba = execFileSync('net', ['--version'], { encoding: 'utf8' }).trim();
    if (ONLY.has('a')) await partA();
    if (ONLY.has('d')) await partD();
    if (ONLY.has('b')) await partBC();
    if (ONLY.has('e')) await partE();
    printTable(results);
    const out = join(__dirname, 'results.json');
    writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
    note(`results written to ${out}`);
  } finally {
    note(`deleting the ${made.length} accounts made`);
    for (let i = 0; i < made.length; i += 100) {
      const chunk = made.slice(i, i + 100).flatMap((n) => ['--machine', n]);
      const r = await timed(process.execPath, [CLI, 'delete', ...odjArgs, ...chunk, '--ignore-missing', '-q'], { env: odjEnv, scratch });
      if (r.code !== 0) note(`cleanup: some accounts were not deleted (exit ${r.code})`);
    }
    rmSync(scratch, { recursive: true, force: true });
    if (dcFile.started && process.env.ODJ_TESTDC_KEEP !== '1') execFileSync('bash', [TESTDC, 'stop'], { stdio: 'inherit' });
  }

  async function partA() {
    // (a) one package per process. One warm-up each (page cache, DC caches), then alternating order;
    // (a') the one-shot floor in the same rounds.
    note(`(a) ${RUNS} runs each of odj provision, net offlinejoin provision and the one-shot floor`);
    await odjOne(`OW${tag}`);
    await sambaOne(`SW${tag}`);
    await oneshotOne(`FW${tag}`);
    const a = { odj: [], samba: [], oneshot: [] };
    for (let i = 0; i < RUNS; i++) {
      const n = String(i).padStart(2, '0');
      if (i % 2 === 0) {
        a.odj.push(await odjOne(`OA${tag}${n}`));
        a.samba.push(await sambaOne(`SA${tag}${n}`));
      } else {
        a.samba.push(await sambaOne(`SA${tag}${n}`));
        a.odj.push(await odjOne(`OA${tag}${n}`));
      }
      a.oneshot.push(await oneshotOne(`FO${tag}${n}`));
    }
    const aOdj = median(a.odj.map((r) => r.ms));
    const aSamba = median(a.samba.map((r) => r.ms));
    const aFloor = median(a.oneshot.map((r) => r.ms));
    results.a = { odjMs: a.odj.map((r) => r.ms), sambaMs: a.samba.map((r) => r.ms), oneshotMs: a.oneshot.map((r) => r.ms), odjMedianMs: aOdj, sambaMedianMs: aSamba,
      oneshotMedianMs: aFloor, ratio: aOdj / aSamba, ratioToOneshot: aOdj / aFloor,
      odjPeakRssKb: maxOf(a.odj.map((r) => r.rssKb)), sambaPeakRssKb: maxOf(a.samba.map((r) => r.rssKb)),
      odjCpuMedianMs: TIME ? median(a.odj.map((r) => r.cpuMs)) : null, sambaCpuMedianMs: TIME ? median(a.samba.map((r) => r.cpuMs)) : null };
  }

  async function partE() {
    const stack = await stackBench({ dc, n: STACK, tag, note });
    made.push(...stack.names);
    note(`(e) DC floor: ${STACK} adds, base searches and deletes over one open connection`);
    const f = JSON.parse(execFileSync(process.execPath, [join(__dirname, 'floor.js'), dcFile.file, String(STACK), `FS${tag}`, 'odj', 'all'], { encoding: 'utf8' }));
    const floor = { createMs: sum(f.addsMs), readMs: sum(f.readsMs), deleteMs: sum(f.delsMs) };
    results.e = { n: STACK, createMs: stack.createMs, readMs: stack.readMs, deleteMs: stack.deleteMs, hostPeakRssKb: stack.hostPeakRssKb, floor,
      ratios: { create: stack.createMs / floor.createMs, read: stack.readMs / floor.readMs, delete: stack.deleteMs / floor.deleteMs } };
  }

  async function partD() {
    // (d) the DC locator (SRV lookup + LDAP ping over the TLS connection it then uses) vs --dcname.
    note(`(d) ${RUNS} runs each of odj provision with the DC locator and with --dcname`);
    const locArgs = ['--domain', dc.ODJ_TEST_DOMAIN, '--user', dc.ODJ_TEST_ADMIN_USER, '--cafile', dc.ODJ_TEST_CA_FILE, '--dns-server', dc.ODJ_TEST_DC_IP];
    const locOne = async (name) => {
      made.push(name);
      const r = await timed(process.execPath, [CLI, 'provision', ...locArgs, '--machine', name, '--savefile', join(scratch, `${name}.txt`), '-q'], { env: odjEnv, scratch });
      mustSucceed(`odj provision (locator) ${name}`, r, secrets);
      return r;
    };
    const d = { locator: [], dcname: [] };
    for (let i = 0; i < RUNS; i++) {
      const n = String(i).padStart(2, '0');
      d.locator.push(await locOne(`OL${tag}${n}`));
      d.dcname.push(await odjOne(`ON${tag}${n}`));
    }
    results.d = { locatorMs: d.locator.map((r) => r.ms), dcnameMs: d.dcname.map((r) => r.ms), locatorMedianMs: median(d.locator.map((r) => r.ms)), dcnameMedianMs: median(d.dcname.map((r) => r.ms)) };
    results.d.discoveryMs = results.d.locatorMedianMs - results.d.dcnameMedianMs;
  }

  async function partBC() {
    // (b) and (c), in ROUNDS rounds: floor, batch, floor, batch, …, floor. The DC slows as its
    // database grows and the machine is shared, so each batch is compared with the mean of the
    // floors right before and after it, and the median round is reported.
    const floor = (prefix, kind) => {
      note(`(c) DC floor: ${BATCH} LDAP adds with ${kind} passwords over one open connection`);
      return JSON.parse(execFileSync(process.execPath, [join(__dirname, 'floor.js'), dcFile.file, String(BATCH), prefix, kind], { encoding: 'utf8' })).addsMs;
    };
    const floors = [floor(`FB${tag}0`, 'odj')];
    const batches = [];
    for (let round = 0; round < ROUNDS; round++) {
      note(`(b) round ${round + 1}/${ROUNDS}: ${BATCH} packages with one odj provision --batch`);
      const batchNames = Array.from({ length: BATCH }, (_, i) => `OB${tag}${round}${String(i).padStart(3, '0')}`);
      made.push(...batchNames);
      const r = await timed(process.execPath, [CLI, 'provision', ...odjArgs, '--batch', '-', '--savedir', join(scratch, `batch${round}`), '-q'],
        { env: odjEnv, scratch, input: batchNames.join('\n') + '\n' });
      mustSucceed('odj provision --batch', r, secrets);
      batches.push(r);
      floors.push(floor(`FB${tag}${round + 1}`, 'odj'));
    }
    const floorAscii = floor(`FD${tag}`, 'ascii');
    const floorMs = floors.flat();
    const roundRatios = batches.map((b, i) => b.ms / ((sum(floors[i]) + sum(floors[i + 1])) / 2));
    const mid = roundRatios.indexOf([...roundRatios].sort((x, y) => x - y)[(roundRatios.length - 1) >> 1]);
    const odjBatch = batches[mid];
    note(`(b) ${BATCH} net offlinejoin provision runs`);
    const t = process.hrtime.bigint();
    const sambaBatch = [];
    for (let i = 0; i < BATCH; i++) sambaBatch.push(await sambaOne(`SB${tag}${String(i).padStart(3, '0')}`));
    const sambaBatchMs = Number(process.hrtime.bigint() - t) / 1e6;

    // The floor of the median round: the mean of the floors before and after its batch.
    const floorTotal = (sum(floors[mid]) + sum(floors[mid + 1])) / 2;
    Object.assign(results, {
      b: { odjBatchMs: odjBatch.ms, odjBatchPeakRssKb: odjBatch.rssKb, sambaTotalMs: sambaBatchMs, sambaRunsMs: sambaBatch.map((r) => r.ms),
        ratioToSamba: odjBatch.ms / sambaBatchMs, ratioToFloor: roundRatios[mid], roundsMs: batches.map((b) => b.ms), roundRatios,
        peakRssAllRoundsKb: maxOf(batches.map((b) => b.rssKb)) },
      c: { roundsAddsMs: floors, roundsTotalMs: floors.map(sum), medianMs: median(floorMs), totalMs: floorTotal,
        asciiAddsMs: floorAscii, asciiMedianMs: median(floorAscii), asciiTotalMs: sum(floorAscii) },
    });
  }
}

function printTable(r) {
  const s = (ms) => `${(ms / 1000).toFixed(3)} s`;
  const mb = (kb) => (kb === null || kb === undefined ? 'n/a' : `${(kb / 1024).toFixed(1)} MB`);
  const mark = (ok) => (ok === null ? '' : ok ? 'ok' : 'MISSED');
  const peakRssMb = Math.max(r.a?.odjPeakRssKb ?? 0, r.b?.peakRssAllRoundsKb ?? 0) / 1024;
  const rows = [['', 'odj', 'samba net / floor', 'ratio', 'target']];
  if (r.a) {
    rows.push(
      [`(a) one package, whole process (median of ${r.runs})`, s(r.a.odjMedianMs), s(r.a.sambaMedianMs), r.a.ratio.toFixed(3), `<= ${TARGETS.ratio} ${mark(r.a.ratio <= TARGETS.ratio)}`],
      ['(a\') vs the one-shot floor (Node + TLS + bind + one add)', s(r.a.odjMedianMs), s(r.a.oneshotMedianMs), r.a.ratioToOneshot.toFixed(3), `<= ${TARGETS.oneshot} ${mark(r.a.ratioToOneshot <= TARGETS.oneshot)}`],
      ['    CPU of the client process (median)', r.a.odjCpuMedianMs === null ? 'n/a' : s(r.a.odjCpuMedianMs), r.a.sambaCpuMedianMs === null ? 'n/a' : s(r.a.sambaCpuMedianMs), '', ''],
      ['peak RSS, one package', mb(r.a.odjPeakRssKb), mb(r.a.sambaPeakRssKb), '', ''],
    );
  }
  if (r.b) {
    rows.push(
      [`(b) ${r.batch} packages (odj: median of ${r.rounds} rounds)`, s(r.b.odjBatchMs), s(r.b.sambaTotalMs), r.b.ratioToSamba.toFixed(3), ''],
      [`(c) DC floor: ${r.batch} adds with password (same round)`, s(r.c.totalMs), '', '', ''],
      ['    one add (median)', s(r.c.medianMs), '', '', ''],
      [`    ${r.batch} adds, ASCII passwords (info)`, s(r.c.asciiTotalMs), '', '', ''],
      [`(b)/(c) odj batch vs the floor (rounds: ${r.b.roundRatios.map((x) => x.toFixed(2)).join(' ')})`, r.b.ratioToFloor.toFixed(3), '', '', `<= ${TARGETS.floorFactor} ${mark(r.b.ratioToFloor <= TARGETS.floorFactor)}`],
      [`peak RSS, ${r.batch} packages`, mb(r.b.peakRssAllRoundsKb), '', '', `<= ${TARGETS.rssMb} MB ${TIME ? mark(peakRssMb <= TARGETS.rssMb) : ''}`],
    );
  }
  if (r.d) {
    rows.push(
      [`(d) one package with the DC locator vs --dcname (median of ${r.runs})`, s(r.d.locatorMedianMs), s(r.d.dcnameMedianMs), '', ''],
      ['    what discovery costs (difference)', s(r.d.discoveryMs), '', '', ''],
    );
  }
  if (r.e) {
    const e = r.e;
    rows.push(
      [`(e) stack of ${e.n} through the host: create`, s(e.createMs), s(e.floor.createMs), e.ratios.create.toFixed(3), `<= ${TARGETS.stackCreate} ${mark(e.ratios.create <= TARGETS.stackCreate)}`],
      ['    refresh (read)', s(e.readMs), s(e.floor.readMs), e.ratios.read.toFixed(3), `<= ${TARGETS.stackRead} ${mark(e.ratios.read <= TARGETS.stackRead)}`],
      ['    destroy', s(e.deleteMs), s(e.floor.deleteMs), e.ratios.delete.toFixed(3), `<= ${TARGETS.stackDelete} ${mark(e.ratios.delete <= TARGETS.stackDelete)}`],
      ['    peak RSS of the host', mb(e.hostPeakRssKb), '', '', e.n >= 1000 ? `<= ${TARGETS.stackRssMb} MB ${mark(e.hostPeakRssKb / 1024 <= TARGETS.stackRssMb)}` : `(target at 1000: <= ${TARGETS.stackRssMb} MB)`],
    );
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const row of rows) process.stdout.write(row.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ') + '\n');
  process.stdout.write(`(${r.samba}, node ${r.node}, ${r.cpus} CPUs, load ${r.loadavgAtStart.map((x) => x.toFixed(2)).join(' ')} at start; peak odj CLI RSS ${peakRssMb.toFixed(1)} MB)\n`);
}

main().catch((e) => {
  process.stderr.write(`bench: ${e && e.message ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
