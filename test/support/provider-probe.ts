// The set-up the engine-level suites share: the package built into a folder of their own, and one
// OfflineJoinPackage registered as a program would (preview, mock monitor), for the `__provider`
// text the SDK serialized — what those suites then hand to a real dynamic-provider host.
import { rmSync } from 'node:fs';
import { buildInto, loadNative, runProgram, type ProgramRun } from '../../examples/runner/engine';
import { testDc } from './dc';

export interface ProviderProbe {
  /** the built package's main (provider/index.js in outDir) */
  main: string;
  /** `__provider` of the probe resource */
  providerText: string;
  run: ProgramRun;
}

export async function buildAndProbe(outDir: string): Promise<ProviderProbe> {
  const dc = testDc();
  rmSync(outDir, { recursive: true, force: true });
  const main = buildInto(outDir);
  const run = await runProgram(
    () => {
      const { OfflineJoinPackage } = loadNative(main) as typeof import('../../provider/index');
      new OfflineJoinPackage('probe', { domain: dc.domain, machineName: 'PROBE', bindPassword: dc.adminPassword });
      return {};
    },
    { config: {}, project: 'odj', preview: true, packageMain: main },
  );
  return { main, providerText: String(run.resources[0].inputs.__provider), run };
}
