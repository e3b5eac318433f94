// unattend.xml: parsed by an independent XML parser (Python's ElementTree), not by string search.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import { renderUnattendXml, renderUnattendXmlText } from '../provider/unattend';

const ns = 'urn:schemas-microsoft-com:unattend';

interface Parsed {
  root: string;
  settings: { pass: string | null; components: { name: string; attrs: Record<string, string>; path: string[]; accountData: string | null }[] }[];
}

/** Parses with Python's xml.etree (a real XML parser) and reports the structure as JSON. */
function parseXml(xml: string): Parsed {
  const script = `
import json, sys, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.buffer.read())
N = '{${ns}}'
out = {'root': root.tag, 'settings': []}
for s in root.findall(N + 'settings'):
    comps = []
    for c in s.findall(N + 'component'):
        path, node = [], c
        while len(list(node)) == 1:
            node = list(node)[0]; path.append(node.tag)
        ad = c.find(N + 'OfflineIdentification/' + N + 'Provisioning/' + N + 'AccountData')
        comps.append({'name': c.get('name'), 'attrs': dict(c.attrib), 'path': path, 'accountData': None if ad is None else ad.text})
    out['settings'].append({'pass': s.get('pass'), 'components': comps})
print(json.dumps(out))
`;
  return JSON.parse(execFileSync('python3', ['-c', script], { input: xml, encoding: 'utf8' })) as Parsed;
}

// A real package (Windows Server 2019, djoin /provision /defpwd) from the repository's test data.
const vector = readFileSync(resolve(__dirname, 'data/windows-server-2019-defpwd.bin'));
const packageText = vector.toString('base64');

describe('renderUnattendXml', () => {
  it('puts the package text into offlineServicing / UnattendedJoin / OfflineIdentification / Provisioning / AccountData', () => {
    const parsed = parseXml(renderUnattendXmlText(packageText));
    expect(parsed.root).toBe(`{${ns}}unattend`);
    expect(parsed.settings).toHaveLength(1);
    expect(parsed.settings[0].pass).toBe('offlineServicing');
    expect(parsed.settings[0].components).toHaveLength(1);
    const c = parsed.settings[0].components[0];
    expect(c.name).toBe('Microsoft-Windows-UnattendedJoin');
    expect(c.attrs).toEqual({
      name: 'Microsoft-Windows-UnattendedJoin',
      processorArchitecture: 'amd64',
      publicKeyToken: '31bf3856ad364e35',
      language: 'neutral',
      versionScope: 'nonSxS',
    });
    expect(c.path).toEqual([`{${ns}}OfflineIdentification`, `{${ns}}Provisioning`, `{${ns}}AccountData`]);
    expect(c.accountData).toBe(packageText);
    expect(Buffer.from(c.accountData!, 'base64').equals(vector)).toBe(true);
  });

  it('renders one component per architecture when asked for both', () => {
    const parsed = parseXml(renderUnattendXmlText(packageText, { architecture: ['amd64', 'arm64'] }));
    const comps = parsed.settings[0].components;
    expect(comps.map((c) => c.attrs.processorArchitecture)).toEqual(['amd64', 'arm64']);
    for (const c of comps) expect(c.accountData).toBe(packageText);
  });

  it('accepts wrapped base64 text and writes it unwrapped', () => {
    const wrapped = packageText.replace(/(.{76})/g, '$1\r\n');
    expect(parseXml(renderUnattendXmlText(wrapped)).settings[0].components[0].accountData).toBe(packageText);
  });

  it('refuses text that is not base64, without echoing it', () => {
    const bad = 'secret</AccountData><x>&';
    expect(() => renderUnattendXmlText(bad)).toThrow(TypeError);
    try {
      renderUnattendXmlText(bad);
    } catch (e) {
      expect(String((e as Error).message)).not.toContain('secret');
    }
    expect(() => renderUnattendXmlText('')).toThrow(/packageText/);
    expect(() => renderUnattendXmlText(packageText, { architecture: 'x86' as never })).toThrow(/architecture/);
    expect(() => renderUnattendXmlText(packageText, { architecture: [] })).toThrow(/architecture/);
  });

  it('returns plain text for a string and a secret Output for an Output', async () => {
    expect(typeof renderUnattendXml(packageText)).toBe('string');
    const out = renderUnattendXml(pulumi.output(packageText), { architecture: 'arm64' });
    expect(pulumi.Output.isInstance(out)).toBe(true);
    expect(await pulumi.isSecret(out)).toBe(true);
    const xml = await new Promise<string>((res) => out.apply((x) => res(x)));
    const c = parseXml(xml).settings[0].components[0];
    expect(c.attrs.processorArchitecture).toBe('arm64');
    expect(c.accountData).toBe(packageText);
  });
});
