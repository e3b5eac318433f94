// The package Windows Server 2019 produced (published in Samba's test suite; see test/data/README.md):
// we read every fact it holds, keep what Windows wrote (the quirk value), and re-encode it into a
// structure that decodes to the same tree, which Samba's ndrdump prints identically.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  decodeProvisionData, encodeProvisionData, packageToFileForm, packageToText, parsePackage, redactPackage,
  PartTypes, REDACTED, type OdjProvisionData, type OdjWin7Blob, type OpPackage, type OpPackagePart,
  type OpPackagePartCollection,
} from '../provider/odj';
import { ndrdump } from './support/peers';

function partsOf(tree: OdjProvisionData): OpPackagePart[] {
  const pkg = tree.pBlobs![1].pBlob as OpPackage;
  return (pkg.WrappedPartCollection.pBlob as OpPackagePartCollection).pParts!;
}

const windows = new Uint8Array(readFileSync(join(__dirname, 'data/windows-server-2019-defpwd.bin')));

describe('the Windows Server 2019 package', () => {
  const parsed = parsePackage(windows);
  const f = parsed.facts;

  it('holds the facts ndrdump shows', () => {
    expect(windows.length).toBe(1984);
    expect(f.domain).toBe('w2k19dom.ber.redhat.com');
    expect(f.machineName).toBe('wurst2');
    expect(f.domainInfo.name).toBe('W2K19DOM');
    expect(f.domainInfo.dnsDomainName).toBe('w2k19dom.ber.redhat.com');
    expect(f.domainInfo.dnsForestName).toBe('w2k19dom.ber.redhat.com');
    expect(f.domainInfo.sid).toMatch(/^S-1-5-21-\d+-\d+-\d+$/);
    expect(f.dc.name).toBe('\\\\gdw2k19dc.w2k19dom.ber.redhat.com');
    expect(f.dc.address).toBe('\\\\192.168.56.108');
    expect(f.dc.addressType).toBe(1);
    expect(f.dc.flags).toBe(0xe003f3fd);
    expect(f.dc.domainGuid).toBe(f.domainInfo.domainGuid);
    expect(f.dc.domainName).toBe('w2k19dom.ber.redhat.com');
    expect(f.dc.forestName).toBe('w2k19dom.ber.redhat.com');
    expect(f.dc.dcSiteName).toBe('Default-First-Site-Name');
    expect(f.dc.clientSiteName).toBe('Default-First-Site-Name');
    expect(f.options).toBe(4);
    expect(f.rid).toBe(1605);
    expect(parsed.accountSid).toBe(`${f.domainInfo.sid}-1605`);
    expect(parsed.blobFormats).toEqual([1, 2]);
    expect(parsed.parts.map((p) => [p.name, p.flags])).toEqual([['JOIN_PROVIDER', 1], ['JOIN_PROVIDER3', 0]]);
    // provisioned with the default password: the lower-case machine name (compared, never printed)
    expect(f.machinePassword === 'wurst2').toBe(true);
    expect(f.joinProvider2 ?? f.certificates ?? f.policies).toBeUndefined();
  });

  it('keeps the 4 bytes Windows writes after lpMachinePassword', () => {
    const win7 = parsed.tree.pBlobs![0].pBlob as OdjWin7Blob;
    // blob 1 starts at byte 0x40; its body at 0x50 holds three pointers, then the quirk
    const onWire = new DataView(windows.buffer, windows.byteOffset).getUint32(0x50 + 12, true);
    expect(win7.Quirk).toBe(onWire);
    expect(onWire).not.toBe(0xffffffff);
    const again = decodeProvisionData(encodeProvisionData(parsed.tree));
    expect((again.pBlobs![0].pBlob as OdjWin7Blob).Quirk).toBe(onWire);
  });

  it('re-encodes to the same structure (Samba referent ids instead of Windows pointers)', async () => {
    const ours = encodeProvisionData(parsed.tree);
    expect(ours.length).toBe(windows.length);
    expect(Buffer.compare(Buffer.from(ours), Buffer.from(windows))).not.toBe(0); // the referent ids differ
    expect(decodeProvisionData(ours)).toEqual(parsed.tree);
    const fromWindows = await ndrdump('ODJ_PROVISION_DATA_serialized_ptr', windows);
    // Without --validate: Samba's encoder always writes FFFFFFFF for the quirk, so its re-encoding
    // of a package that keeps Windows' value cannot match; with FFFFFFFF it must.
    const fromOurs = await ndrdump('ODJ_PROVISION_DATA_serialized_ptr', ours);
    expect(fromWindows.ok).toBe(true);
    expect(fromOurs.ok).toBe(true);
    const tree = decodeProvisionData(ours);
    for (const b of [tree.pBlobs![0].pBlob, partsOf(tree)[0].Part.pBlob]) (b as OdjWin7Blob).Quirk = 0xffffffff;
    expect((await ndrdump('ODJ_PROVISION_DATA_serialized_ptr', encodeProvisionData(tree), { validate: true })).ok).toBe(true);
    const printOut = (s: string): string => s.slice(s.indexOf('ODJ_PROVISION_DATA_serialized_ptr:'), s.indexOf('\npush returned') >= 0 ? s.indexOf('\npush returned') : s.indexOf('\ndump OK'));
    expect(printOut(fromOurs.output)).toBe(printOut(fromWindows.output));
    expect(printOut(fromOurs.output)).toContain(PartTypes.JOIN_PROVIDER3);
  });

  it('reads the same tree from the text and file forms, with or without BOM and NUL', () => {
    const text = packageToText(windows);
    const file = packageToFileForm(windows);
    expect([...file.subarray(0, 2)]).toEqual([0xff, 0xfe]);
    expect([...file.subarray(-2)]).toEqual([0, 0]);
    expect(Buffer.from(file.subarray(2, -2)).toString('utf16le')).toBe(text);
    const forms: (Uint8Array | string)[] = [
      text,
      `${text.slice(0, 100)}\r\n${text.slice(100)}\n`,
      `\ufeff${text}\u0000`,
      file,
      file.subarray(2),
      file.subarray(0, -2),
      file.subarray(2, -2),
      new Uint8Array(Buffer.from(text, 'latin1')),
    ];
    for (const form of forms) expect(parsePackage(form).tree).toEqual(parsed.tree);
  });

  it('shows the password only when asked, also when the object is logged or serialized', () => {
    expect(redactPackage(parsed).machinePassword).toBe(REDACTED);
    expect(JSON.parse(JSON.stringify(parsed)).machinePassword).toBe(REDACTED);
    expect(JSON.stringify(parsed)).not.toContain('lpMachinePassword');
    expect(inspect(parsed, { depth: 10 })).toContain(`machinePassword: '${REDACTED}'`);
    expect(inspect(parsed, { depth: 10 })).not.toContain('lpMachinePassword');
    expect(redactPackage(parsed, { showSecrets: true }).machinePassword === 'wurst2').toBe(true);
  });
});
