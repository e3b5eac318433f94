// (e) A stack of N OfflineJoinPackage resources through the real dynamic-provider host, as the
// engine drives it (every resource registered at once: Check then Create; then Read; then Delete),
// timed per phase, with the host's peak RSS. The engine stand-in is examples/runner/engine.ts,
// compiled here with the provider into dist/.bench-stack.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, readFileSync } = require('node:fs');
const { join, resolve } = require('node:path');

const ROOT = resolve(__dirname, '..');

function buildEngine() {
  const outDir = join(ROOT, 'dist', '.bench-stack');
  const tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
  const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'examples', 'runner', 'tsconfig.json'), '--outDir', outDir], { encoding: 'utf8' });
  const engine = join(outDir, 'examples', 'runner', 'engine.js');
  if (!existsSync(engine)) throw new Error(`tsc produced no ${engine}: ${r.stdout}${r.stderr}`);
  return { engine: require(engine), main: join(outDir, 'provider', 'index.js') };
}

/** The host's peak resident set (VmHWM), in kB. */
function peakRssKb(pid) {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : null;
}

async function stackBench({ dc, n, tag, note }) {
  const { engine, main } = buildEngine();
  // The `__provider` text, as dynamic.Resource serializes it (a preview under the mock monitor).
  const probe = await engine.runProgram(
    () => {
      const { OfflineJoinPackage } = engine.loadNative(main);
      new OfflineJoinPackage('probe', { domain: dc.ODJ_TEST_DOMAIN, machineName: 'PROBE', bindPassword: dc.ODJ_TEST_ADMIN_PASSWORD });
      return {};
    },
    { config: {}, project: 'odj', preview: true, packageMain: main },
  );
  const providerText = String(probe.resources[0].inputs.__provider);
  const host = await engine.startHost({ cwd: join(ROOT, 'examples', 'basic') });
  const names = Array.from({ length: n }, (_, i) => `K${tag}${String(i).padStart(4, '0')}`);
  try {
    await host.configure({
      'odj:ldapUrl': dc.ODJ_TEST_LDAP_URL,
      'odj:caFile': dc.ODJ_TEST_CA_FILE,
      'odj:bindUser': dc.ODJ_TEST_ADMIN_USER,
      'odj:bindPassword': dc.ODJ_TEST_ADMIN_PASSWORD,
    });
    const inputs = (m) => ({ __provider: providerText, domain: dc.ODJ_TEST_DOMAIN, machineName: m });
    const timedPhase = async (what, fn) => {
      note(`(e) ${what} ${n} resources through the host`);
      const t = process.hrtime.bigint();
      const out = await fn();
      return { ms: Number(process.hrtime.bigint() - t) / 1e6, out };
    };
    const create = await timedPhase('creating', () => Promise.all(names.map(async (m) => host.create(m, (await host.check(m, {}, inputs(m))).inputs))));
    const read = await timedPhase('refreshing', () => Promise.all(create.out.map((c, i) => host.read(names[i], c.id, c.props))));
    const del = await timedPhase('destroying', () => Promise.all(create.out.map((c, i) => host.delete(names[i], c.id, c.props))));
    return { n, names, createMs: create.ms, readMs: read.ms, deleteMs: del.ms, hostPeakRssKb: peakRssKb(host.process.pid) };
  } finally {
    host.stop();
  }
}

module.exports = { stackBench };
