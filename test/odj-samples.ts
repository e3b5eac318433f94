// Sample package facts for the codec tests, and a small seeded PRNG for generated cases.
// The password here is sample data, not a secret of any real account.
import type { PackageFacts } from '../provider/odj';

export function sampleFacts(overrides: Partial<PackageFacts> = {}): PackageFacts {
  return {
    domain: 'example.test',
    machineName: 'WS-SAMPLE01',
    machinePassword: 'sample password \u00e9\u4e2d\ud83d\ude00 not real',
    domainInfo: {
      name: 'EXAMPLE',
      dnsDomainName: 'example.test',
      dnsForestName: 'example.test',
      domainGuid: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
      sid: 'S-1-5-21-1111111111-2222222222-3333333333',
    },
    dc: {
      name: '\\\\dc1.example.test',
      address: '\\\\192.0.2.10',
      addressType: 1,
      domainGuid: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
      domainName: 'example.test',
      forestName: 'example.test',
      flags: 0xe00013fd,
      dcSiteName: 'Default-First-Site-Name',
      clientSiteName: 'Default-First-Site-Name',
    },
    options: 6,
    rid: 1234,
    ...overrides,
  };
}

export const sampleJoinProvider2 = {
  flags: 1,
  netbiosName: 'WSNB01',
  siteName: 'Branch-Site',
  primaryDnsDomain: 'corp.example.test',
};

export const sampleCertificates = {
  pfxStores: [
    {
      templateName: 'Machine',
      privateKeyExportPolicy: 1,
      policyServerUrl: 'https://enroll.example.test/ADPolicyProvider_CEP_Kerberos/service.svc/CEP',
      policyServerUrlFlags: 2,
      policyServerId: '{3a5b7c9d-0000-1111-2222-333344445555}',
      pfx: Uint8Array.from({ length: 301 }, (_, i) => (i * 7 + 3) & 0xff),
    },
  ],
  sstStores: [
    { storeLocation: 0x20000, storeName: 'Root', sst: Uint8Array.from({ length: 77 }, (_, i) => (i * 13) & 0xff) },
    { storeLocation: 0x20000, storeName: null, sst: new Uint8Array(0) },
  ],
};

export const samplePolicies = [
  {
    source: '{31B2F340-016D-11D2-945F-00C04FB984F9}',
    rootKeyId: 0x80000002,
    elements: [
      {
        keyPath: 'Software\\Policies\\Microsoft\\Windows\\System',
        valueName: 'EnableSmartScreen',
        valueType: 4,
        data: Uint8Array.of(1, 0, 0, 0),
      },
      {
        keyPath: 'Software\\Policies\\Example',
        valueName: null,
        valueType: 1,
        data: new Uint8Array(Buffer.from('hello\0', 'utf16le')),
      },
    ],
  },
  { source: null, rootKeyId: 0x80000002, elements: [] },
];

/** xorshift32: deterministic, so a failing case can be replayed from its seed. */
export class Prng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  /** 0 <= n < max */
  int(max: number): number {
    return this.next() % max;
  }
  chance(p: number): boolean {
    return this.next() / 0x100000000 < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  bytes(max: number): Uint8Array {
    return Uint8Array.from({ length: this.int(max + 1) }, () => this.int(256));
  }
  /** Random text: ASCII, BMP, non-BMP (surrogate pairs) and sometimes empty. */
  string(maxChars = 24): string {
    const n = this.int(maxChars + 1);
    let s = '';
    for (let i = 0; i < n; i++) {
      const kind = this.int(4);
      if (kind === 0) s += String.fromCodePoint(0x20 + this.int(0x5f));
      else if (kind === 1) s += String.fromCodePoint(0xa0 + this.int(0xd700 - 0xa0));
      else if (kind === 2) s += String.fromCodePoint(0x10000 + this.int(0x100000 - 0x10000));
      else s += String.fromCodePoint(0xe000 + this.int(0x2000));
    }
    return s;
  }
  maybeString(maxChars = 24): string | null {
    return this.chance(0.2) ? null : this.string(maxChars);
  }
}
