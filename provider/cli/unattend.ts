// `odj unattend`: the unattend.xml that hands a package to Windows Setup. The package is parsed
// first, so a damaged one fails here and not during Setup.
import { packageBinaryFrom, packageToText, parsePackage } from '../odj';
import { renderUnattendXmlText, type UnattendArchitecture } from '../unattend';
import { bool, list, nonEmpty, parse } from './args';
import { assertAbsent, readInput, writeSecretFile } from './io';
import { HELP, UsageError } from './usage';
import { Limits } from '../limits';

const C = 'unattend';

export async function run(args: string[]): Promise<number> {
  const p = parse(C, args, { arch: { type: 'string', multiple: true }, out: { type: 'string' } }, true);
  if (bool(p, 'help')) {
    process.stdout.write(HELP.unattend + '\n');
    return 0;
  }
  if (p.positionals.length !== 1) throw new UsageError('give one package: a FILE, or - for stdin', C);
  const arch = list(p, 'arch');
  for (const a of arch) if (a !== 'amd64' && a !== 'arm64') throw new UsageError(`--arch ${a}: use amd64 or arm64`, C);
  const out = nonEmpty(p, 'out', C);
  if (out) assertAbsent(out, '--out', C);
  const input = await readInput(p.positionals[0], C, Limits.packageFileBytes, 'a package file');
  const bytes = packageBinaryFrom(new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
  parsePackage(bytes);
  const xml = renderUnattendXmlText(packageToText(bytes), { architecture: arch.length ? (arch as UnattendArchitecture[]) : 'amd64' });
  if (out) writeSecretFile(out, xml);
  else process.stdout.write(xml);
  return 0;
}
