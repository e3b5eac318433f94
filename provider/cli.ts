#!/usr/bin/env node
// The `odj` command: djoin's provisioning and the package tools, cross-platform. Start-up is part
// of the job (one package per process is a common use), so this file loads nothing but the
// command it runs: `inspect` never loads the LDAP client, `--help` loads no command at all.
import { UsageError, helpFor } from './cli/usage';

type Command = { run(args: string[]): Promise<number> };

const commands: Record<string, () => Command> = {
  provision: () => require('./cli/provision') as Command,
  inspect: () => require('./cli/inspect') as Command,
  unattend: () => require('./cli/unattend') as Command,
  delete: () => require('./cli/delete') as Command,
};

function version(): string {
  return (require('../../package.json') as { version: string }).version;
}

/** Exit status: 0 ok, 1 provisioning/directory/package error, 2 usage error. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === '-h' || name === '--help') {
      (name === undefined ? process.stderr : process.stdout).write(helpFor(undefined) + '\n');
      return name === undefined ? 2 : 0;
    }
    if (name === '-V' || name === '--version') {
      process.stdout.write(`odj ${version()}\n`);
      return 0;
    }
    if (name === 'help') {
      if (rest.length > 1 || (rest[0] !== undefined && !(rest[0] in commands))) throw new UsageError(`no such command: ${rest.join(' ')}`);
      process.stdout.write(helpFor(rest[0]) + '\n');
      return 0;
    }
    const load = Object.hasOwn(commands, name) ? commands[name] : undefined;
    if (!load) throw new UsageError(`no such command: ${name}`);
    if (name === 'provision') {
      // The TLS handshake with the DC runs while the command loads (cli/early.ts).
      await (require('./cli/early') as typeof import('./cli/early')).startEarlyConnection(rest);
    }
    return await load().run(rest);
  } catch (e) {
    return report(e);
  }
}

function report(e: unknown): number {
  if (e instanceof UsageError) {
    process.stderr.write(`odj: ${e.message}\nTry 'odj ${e.command ? `${e.command} ` : ''}--help'.\n`);
    return 2;
  }
  const name = (e as Error)?.name;
  if (name === 'ProvisioningError') {
    // Loaded only on this path; output.ts adds the flag at fault.
    const { describeError } = require('./cli/output') as typeof import('./cli/output');
    process.stderr.write(`odj: ${describeError(e as import('./errors').ProvisioningError)}\n`);
    return 1;
  }
  if (name === 'PackageFormatError') {
    process.stderr.write(`odj: not a valid offline join package: ${(e as Error).message}\n`);
    return 1;
  }
  if (e instanceof TypeError && /^architecture|^packageText/.test(e.message)) {
    process.stderr.write(`odj: ${e.message}\n`);
    return 1;
  }
  // Anything else is a bug or an OS error; its message names no secret (we pass none in), but
  // the stack is only for those who ask.
  const err = e as NodeJS.ErrnoException;
  process.stderr.write(`odj: ${err?.code ? `${err.code}: ` : ''}${err?.message ?? String(e)}\n`);
  if (process.env.ODJ_DEBUG) process.stderr.write(`${err?.stack ?? ''}\n`);
  return 1;
}

/** V8's code cache for the modules a command loads (ours and ldapts): a few ms off every start.
 *  Kept in the user's own cache directory (0700), never in a shared /tmp one: code cache written
 *  by someone else would be code run as us, with the bind password in hand. */
function enableCompileCache(): void {
  const mod = require('node:module') as { enableCompileCache?: (dir: string) => unknown };
  if (typeof mod.enableCompileCache !== 'function' || process.env.NODE_DISABLE_COMPILE_CACHE) return;
  const { mkdirSync } = require('node:fs') as typeof import('node:fs');
  const { homedir } = require('node:os') as typeof import('node:os');
  const { join } = require('node:path') as typeof import('node:path');
  try {
    const home = homedir();
    const base = process.env.XDG_CACHE_HOME || (home ? join(home, '.cache') : '');
    if (!base) return;
    const dir = join(base, 'odj', 'compile-cache');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    mod.enableCompileCache(dir);
  } catch {
    // A read-only or missing home only costs the speed-up.
  }
}

if (require.main === module) {
  enableCompileCache();
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`odj: ${(e as Error)?.message ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
