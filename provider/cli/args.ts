// node:util parseArgs, strict, with its errors turned into usage errors (exit 2) that name the
// command, plus the connection flags every command that talks to the DC shares.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './usage';

export type Options = NonNullable<ParseArgsConfig['options']>;

const helpOption: Options = { help: { type: 'boolean', short: 'h' } };

export const connectionOptions: Options = {
  url: { type: 'string' },
  starttls: { type: 'boolean' },
  user: { type: 'string' },
  'password-file': { type: 'string' },
  cafile: { type: 'string' },
  'insecure-skip-tls-verify': { type: 'boolean' },
  timeout: { type: 'string' },
  kerberos: { type: 'boolean' },
  keytab: { type: 'string' },
  'dns-server': { type: 'string', multiple: true },
};

/** Flags people reach for that would put a secret on the command line (visible in ps, history). */
const PASSWORD_FLAGS = /^(--password|--pass|--pw|--bind-password|-p|--password=.*|--pass=.*|--bind-password=.*|-p.+)$/;

export interface Parsed {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

export function parse(command: string, args: string[], options: Options, allowPositionals: boolean): Parsed {
  for (const a of args) {
    if (a === '--') break;
    if (PASSWORD_FLAGS.test(a)) {
      throw new UsageError('passwords are not taken as arguments (other users see them in the process list); use --password-file, ODJ_BIND_PASSWORD or the prompt', command);
    }
  }
  try {
    const r = parseArgs({ args, options: { ...helpOption, ...options }, strict: true, allowPositionals });
    return { values: r.values as Parsed['values'], positionals: r.positionals };
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      // Node's wording names the option and what is wrong with it; drop its advice about '--'.
      throw new UsageError((e as Error).message.replace(/\s*To specify an option argument.*$/s, '').replace(/\s*To specify a positional.*$/s, ''), command);
    }
    throw e;
  }
}

export const str = (p: Parsed, k: string): string | undefined => {
  const v = p.values[k];
  return typeof v === 'string' ? v : undefined;
};
export const bool = (p: Parsed, k: string): boolean => p.values[k] === true;
export const list = (p: Parsed, k: string): string[] => {
  const v = p.values[k];
  return Array.isArray(v) ? (v as string[]) : typeof v === 'string' ? [v] : [];
};

/** A string option that, when given, must not be empty. */
export function nonEmpty(p: Parsed, k: string, command: string): string | undefined {
  const v = str(p, k);
  if (v !== undefined && v.trim() === '') throw new UsageError(`--${k} needs a non-empty value`, command);
  return v;
}
