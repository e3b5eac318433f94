// Real producers for the certificate and policy tests: OpenSSL makes root CAs and PFX files,
// Samba's own Python (samba.gp_parse.gp_pol) writes and reads Registry.pol files.
// Everything lands in a private temp directory that the caller removes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Attribute } from 'ldapts';
import { testDc } from './support/dc';

export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), `odj-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const run = (cmd: string, args: string[], input?: string): string =>
  execFileSync(cmd, args, { input, stdio: ['pipe', 'pipe', 'pipe'], encoding: 'utf8', timeout: 60_000 });

export interface TestCa {
  der: Buffer;
  pem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
}

/** A self-signed root CA made by `openssl req -x509`. */
export function opensslRootCa(dir: string, commonName: string): TestCa {
  const keyFile = join(dir, `${commonName}.key`);
  const certFile = join(dir, `${commonName}.pem`);
  run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '30',
    '-subj', `/CN=${commonName}/O=ODJ tests`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const derFile = join(dir, `${commonName}.der`);
  run('openssl', ['x509', '-in', certFile, '-outform', 'DER', '-out', derFile]);
  return { der: readFileSync(derFile), pem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8'), certFile, keyFile };
}

/** A certificationAuthority object's attributes, as `certutil -dspublish -f x.crt RootCA` writes
 *  them. Attribute objects: ldapts' plain-record form of add() is typed for strings only. */
export function caObjectAttributes(cACertificate: Buffer[]): Attribute[] {
  return [
    new Attribute({ type: 'objectClass', values: ['top', 'certificationAuthority'] }),
    new Attribute({ type: 'cACertificate', values: cACertificate }),
    // mandatory in the schema; certutil writes a single zero byte when there is no CRL yet
    new Attribute({ type: 'authorityRevocationList', values: [Buffer.from([0])] }),
    new Attribute({ type: 'certificateRevocationList', values: [Buffer.from([0])] }),
  ];
}

/** `openssl pkcs12 -export` of that CA's certificate and key; the export password is test data. */
export function opensslPfx(dir: string, ca: TestCa, extra: string[] = []): Buffer {
  const out = join(dir, `p${Math.random().toString(36).slice(2)}.pfx`);
  run('openssl', ['pkcs12', '-export', '-in', ca.certFile, '-inkey', ca.keyFile, '-out', out, '-passout', 'pass:odj-test-export', ...extra]);
  return readFileSync(out);
}

export interface SambaPolEntry {
  key: string;
  value: string;
  type: number;
  /** Samba's decoded data: a string (REG_SZ, REG_EXPAND_SZ), a number as text, or base64 bytes */
  data: { str: string } | { int: string } | { b64: string } | null;
}

const PY_WRITE = `
import sys, xml.etree.ElementTree as ET
from samba.gp_parse.gp_pol import GPPolParser
p = GPPolParser()
p.load_xml(ET.fromstring(sys.stdin.read()))
p.write_binary(sys.argv[1])
`;

const PY_READ = `
import sys, json, base64
from samba.gp_parse.gp_pol import GPPolParser
p = GPPolParser()
p.parse(open(sys.argv[1], 'rb').read())
out = []
for e in p.pol_file.entries:
    d = e.data
    if isinstance(d, str): d = {'str': d}
    elif isinstance(d, int): d = {'int': str(d)}
    elif isinstance(d, (bytes, bytearray)): d = {'b64': base64.b64encode(bytes(d)).decode()}
    else: d = None
    out.append({'key': e.keyname, 'value': e.valuename, 'type': e.type, 'data': d})
print(json.dumps(out))
`;

/** Samba's GPPolParser writes a Registry.pol from its XML form (the form `samba-tool gpo` uses). */
export function sambaWritePol(file: string, xml: string): Buffer {
  run('/usr/bin/python3', ['-c', PY_WRITE, file], xml);
  return readFileSync(file);
}

/** Samba's GPPolParser reads a Registry.pol; its entries as JSON. */
export function sambaReadPol(file: string): SambaPolEntry[] {
  return JSON.parse(run('/usr/bin/python3', ['-c', PY_READ, file])) as SambaPolEntry[];
}

export function writeBytes(file: string, bytes: Uint8Array): string {
  writeFileSync(file, bytes);
  return file;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The XML GPPolParser.load_xml takes, from plain entries. */
export function polXml(entries: { key: string; value: string; type: number; values: string[] }[]): string {
  const body = entries
    .map((e) => `<Entry type="${e.type}"><Key>${esc(e.key)}</Key><ValueName>${esc(e.value)}</ValueName>${e.values.map((v) => `<Value>${esc(v)}</Value>`).join('')}</Entry>`)
    .join('\n');
  return `<PolFile num_entries="${entries.length}" signature="PReg" version="1">\n${body}\n</PolFile>`;
}

/**
 * `samba-tool <args> -s <dc smb.conf> -H ldap://<dc> -U Administrator` with the password in the
 * PASSWD environment variable (Samba's credentials read it), never on the command line; stdout on
 * success, an error without the password otherwise.
 */
export function sambaTool(args: string[]): string {
  const dc = testDc();
  try {
    return execFileSync('samba-tool', [...args, '-s', dc.smbConf, '-H', `ldap://${dc.dcHost}`, '-U', 'Administrator'], {
      env: { ...process.env, PASSWD: dc.adminPassword },
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
      timeout: 60_000,
    });
  } catch (e) {
    const out = `${(e as { stdout?: string }).stdout ?? ''}${(e as { stderr?: string }).stderr ?? ''}`.split(dc.adminPassword).join('<redacted>');
    throw new Error(`samba-tool ${args[0]} ${args[1] ?? ''} failed: ${out.trim().split('\n').slice(-5).join('\n')}`);
  }
}

/** `samba-tool gpo create`: the new GPO's GUID in braces. */
export function createGpo(displayName: string): string {
  const out = sambaTool(['gpo', 'create', displayName]);
  const m = /created as (\{[0-9A-Fa-f-]{36}\})/.exec(out);
  if (!m) throw new Error(`samba-tool gpo create printed no GUID: ${out.trim()}`);
  return m[1];
}

export function deleteGpo(guid: string): void {
  sambaTool(['gpo', 'del', guid]);
}
