// NETSETUP_PROVISIONING_PARAMS as Netapi32 reads it, checked on this (x64 Linux) machine: koffi's
// layout against the Windows ABI numbers worked out by hand from lmjoin.h, and the memory image
// the Windows flavour passes, byte by byte. No Windows needed: the layout rules are the ABI's.
import * as koffi from 'koffi';
import type { TypeObject } from 'koffi';
import { describe, expect, it } from 'vitest';
import {
  NETSETUP_PROVISIONING_PARAMS_CURRENT_VERSION,
  NETSETUP_PROVISIONING_PARAMS_WIN8_VERSION,
  PROVISIONING_PARAMS_MEMBERS,
  provisioningParamsModel,
  provisioningParamsType,
  userInfo23Type,
} from '../provider/netapi/layout';
import { buildParamsImage, paramsVersion } from '../provider/netapi/params-image';
import type { NativeProvisionRequest } from '../provider/netapi/native';
import { sidFromBytes } from '../provider/odj/ids';
import { IMPERSONATION_PROTOTYPES, splitAccount } from '../provider/netapi/impersonation';
import { NETAPI32_PROTOTYPES } from '../provider/netapi/windows';

// Hand layout. DWORD is 4 bytes (align 4) on every Windows ABI; a pointer is 8 bytes (align 8) on
// x64 and arm64, 4 bytes (align 4) on x86; MSVC places each member at the next multiple of its
// alignment and rounds the size up to the largest alignment.
//
// x64 / arm64                         x86
//  0 dwVersion            (4, pad 4)    0 dwVersion
//  8 lpDomain             (8)           4 lpDomain
// 16 lpHostName           (8)           8 lpHostName
// 24 lpMachineAccountOU   (8)          12 lpMachineAccountOU
// 32 lpDcName             (8)          16 lpDcName
// 40 dwProvisionOptions   (4, pad 4)   20 dwProvisionOptions
// 48 aCertTemplateNames   (8)          24 aCertTemplateNames
// 56 cCertTemplateNames   (4, pad 4)   28 cCertTemplateNames
// 64 aMachinePolicyNames  (8)          32 aMachinePolicyNames
// 72 cMachinePolicyNames  (4, pad 4)   36 cMachinePolicyNames
// 80 aMachinePolicyPaths  (8)          40 aMachinePolicyPaths
// 88 cMachinePolicyPaths  (4, pad 4)   44 cMachinePolicyPaths
// 96 lpNetbiosName        (8)          48 lpNetbiosName
// 104 lpSiteName          (8)          52 lpSiteName
// 112 lpPrimaryDNSDomain  (8)          56 lpPrimaryDNSDomain
// size 120, align 8                     size 60, align 4
const X64 = {
  size: 120,
  align: 8,
  offsets: [0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112],
};
const X86 = {
  size: 60,
  align: 4,
  offsets: [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56],
};

function layoutOf(type: TypeObject): { size: number; align: number; offsets: number[] } {
  return {
    size: koffi.sizeof(type),
    align: koffi.alignof(type),
    offsets: PROVISIONING_PARAMS_MEMBERS.map(([name]) => koffi.offsetof(type, name)),
  };
}

describe('NETSETUP_PROVISIONING_PARAMS layout', () => {
  it('declares the fifteen members of lmjoin.h in the header order', () => {
    expect(PROVISIONING_PARAMS_MEMBERS.map(([n]) => n)).toEqual([
      'dwVersion', 'lpDomain', 'lpHostName', 'lpMachineAccountOU', 'lpDcName', 'dwProvisionOptions',
      'aCertTemplateNames', 'cCertTemplateNames', 'aMachinePolicyNames', 'cMachinePolicyNames',
      'aMachinePolicyPaths', 'cMachinePolicyPaths', 'lpNetbiosName', 'lpSiteName', 'lpPrimaryDNSDomain',
    ]);
    expect([NETSETUP_PROVISIONING_PARAMS_WIN8_VERSION, NETSETUP_PROVISIONING_PARAMS_CURRENT_VERSION]).toEqual([1, 2]);
  });

  it('koffi lays it out as the Windows ABI does for x64, arm64 and x86', () => {
    expect(layoutOf(provisioningParamsModel(koffi, 'x64'))).toEqual(X64);
    expect(layoutOf(provisioningParamsModel(koffi, 'arm64'))).toEqual(X64);
    expect(layoutOf(provisioningParamsModel(koffi, 'x86'))).toEqual(X86);
  });

  it("the struct with this machine's real pointer types has the x64 layout here", () => {
    expect(koffi.sizeof('void *')).toBe(8);
    expect(layoutOf(provisioningParamsType(koffi))).toEqual(X64);
  });

  it('USER_INFO_23 has its pointers where lmaccess.h puts them (x64: 0, 8, 16, flags 24, SID 32; size 40)', () => {
    for (const wide of [true, false]) {
      const t = userInfo23Type(koffi, wide);
      const names = ['usri23_name', 'usri23_full_name', 'usri23_comment', 'usri23_flags', 'usri23_user_sid'];
      expect(names.map((n) => koffi.offsetof(t, n))).toEqual([0, 8, 16, 24, 32]);
      expect(koffi.sizeof(t)).toBe(40);
    }
  });
});

const utf16z = (s: string): number[] => [...Buffer.from(s + '\0', 'utf16le')];

describe('the memory image passed to NetCreateProvisioningPackage', () => {
  const sample: NativeProvisionRequest = {
    domain: 'odjtest.test',
    machineName: 'WS01',
    dcName: 'dc1.odjtest.test',
    options: 0x2 | 0x20,
    certTemplateNames: ['Machine', 'Wörkstation'],
    machinePolicyNames: [],
    machinePolicyPaths: ['C:\\pol\\Registry.pol'],
    netbiosName: 'WS01',
    // A character outside the BMP: two UTF-16 code units (a surrogate pair).
    siteName: 'Site-𝄞',
  };

  it('holds every member at its offset, strings as NUL-terminated UTF-16LE, arrays as pointer lists', () => {
    const image = buildParamsImage(koffi, sample);
    try {
      const b = image.view();
      const base = image.address;
      const ptr = (at: number): bigint => b.readBigUInt64LE(at);
      /** the image bytes a pointer member points to, up to and including the UTF-16 NUL */
      const wideAt = (p: bigint): number[] => {
        const start = Number(p - base);
        expect(start).toBeGreaterThanOrEqual(120);
        expect(start % 2).toBe(0);
        let end = start;
        while (b.readUInt16LE(end) !== 0) end += 2;
        return [...b.subarray(start, end + 2)];
      };

      // dwVersion = 2 (the later members are used), then 4 bytes of padding.
      expect([...b.subarray(0, 8)]).toEqual([2, 0, 0, 0, 0, 0, 0, 0]);
      expect(wideAt(ptr(8))).toEqual(utf16z('odjtest.test'));
      expect(wideAt(ptr(8)).slice(0, 6)).toEqual([0x6f, 0, 0x64, 0, 0x6a, 0]); // 'o' 'd' 'j'
      expect(wideAt(ptr(16))).toEqual(utf16z('WS01'));
      expect(ptr(24)).toBe(0n); // lpMachineAccountOU: NULL
      expect(wideAt(ptr(32))).toEqual(utf16z('dc1.odjtest.test'));
      expect([...b.subarray(40, 48)]).toEqual([0x22, 0, 0, 0, 0, 0, 0, 0]); // REUSE_ACCOUNT | PERSISTENTSITE

      // aCertTemplateNames → two pointers → two strings; 'ö' is the single code unit 0x00f6.
      const certs = Number(ptr(48) - base);
      expect(b.readUInt32LE(56)).toBe(2);
      expect(wideAt(b.readBigUInt64LE(certs))).toEqual(utf16z('Machine'));
      expect(wideAt(b.readBigUInt64LE(certs + 8))).toEqual(utf16z('Wörkstation'));
      expect(wideAt(b.readBigUInt64LE(certs + 8)).slice(2, 4)).toEqual([0xf6, 0x00]);

      expect(ptr(64)).toBe(0n); // no policy names: NULL and count 0
      expect(b.readUInt32LE(72)).toBe(0);
      const paths = Number(ptr(80) - base);
      expect(b.readUInt32LE(88)).toBe(1);
      expect(wideAt(b.readBigUInt64LE(paths))).toEqual(utf16z('C:\\pol\\Registry.pol'));

      expect(wideAt(ptr(96))).toEqual(utf16z('WS01'));
      const site = wideAt(ptr(104));
      expect(site).toEqual(utf16z('Site-𝄞'));
      // U+1D11E as the surrogate pair D834 DD1E, little-endian, then the NUL.
      expect(site.slice(-6)).toEqual([0x34, 0xd8, 0x1e, 0xdd, 0, 0]);
      expect(ptr(112)).toBe(0n); // lpPrimaryDNSDomain: NULL
      // The padding words are zero.
      for (const at of [4, 44, 60, 76, 92]) expect(b.readUInt32LE(at)).toBe(0);
    } finally {
      image.free();
    }
  });

  it('reads back through koffi as the same values a callee would see', () => {
    const image = buildParamsImage(koffi, sample);
    try {
      const p = koffi.decode(image.address, provisioningParamsType(koffi)) as Record<string, unknown>;
      expect(p).toMatchObject({
        dwVersion: 2,
        lpDomain: 'odjtest.test',
        lpHostName: 'WS01',
        lpMachineAccountOU: null,
        lpDcName: 'dc1.odjtest.test',
        dwProvisionOptions: 0x22,
        cCertTemplateNames: 2,
        cMachinePolicyNames: 0,
        cMachinePolicyPaths: 1,
        lpNetbiosName: 'WS01',
        lpSiteName: 'Site-𝄞',
        lpPrimaryDNSDomain: null,
      });
      const certs = koffi.decode(p.aCertTemplateNames, 'const char16_t *', 2) as string[];
      expect(certs).toEqual(['Machine', 'Wörkstation']);
    } finally {
      image.free();
    }
  });

  it('laid out for x86: 4-byte pointers at the x86 offsets, strings from byte 60', () => {
    const image = buildParamsImage(koffi, sample, 'x86');
    try {
      const b = image.view();
      const low = Number(image.address & 0xffffffffn);
      /** offset in the block of the string a 32-bit pointer member points to, and its bytes */
      const wideAt = (at: number): number[] => {
        const start = (b.readUInt32LE(at) - low) >>> 0; // modulo 2^32, as the truncated pointer is
        let end = start;
        while (b.readUInt16LE(end) !== 0) end += 2;
        return [...b.subarray(start, end + 2)];
      };
      expect(b.readUInt32LE(0)).toBe(2);
      expect(wideAt(4)).toEqual(utf16z('odjtest.test'));
      expect(wideAt(8)).toEqual(utf16z('WS01'));
      expect(b.readUInt32LE(12)).toBe(0);
      expect(wideAt(16)).toEqual(utf16z('dc1.odjtest.test'));
      expect(b.readUInt32LE(20)).toBe(0x22);
      // The certificate array starts right after the 60-byte struct: two 32-bit pointers.
      expect((b.readUInt32LE(24) - low) >>> 0).toBe(60);
      expect(b.readUInt32LE(28)).toBe(2);
      expect(wideAt(60)).toEqual(utf16z('Machine'));
      expect(wideAt(64)).toEqual(utf16z('Wörkstation'));
      expect([b.readUInt32LE(32), b.readUInt32LE(36)]).toEqual([0, 0]);
      expect((b.readUInt32LE(40) - low) >>> 0).toBe(68);
      expect(b.readUInt32LE(44)).toBe(1);
      expect(wideAt(68)).toEqual(utf16z('C:\\pol\\Registry.pol'));
      expect(wideAt(48)).toEqual(utf16z('WS01'));
      expect(wideAt(52)).toEqual(utf16z('Site-𝄞'));
      expect(b.readUInt32LE(56)).toBe(0);
    } finally {
      image.free();
    }
  });

  it('uses version 1 (WIN8) when none of the later members is given', () => {
    const v1: NativeProvisionRequest = { ...sample, netbiosName: undefined, siteName: undefined, primaryDnsDomain: undefined };
    expect(paramsVersion(v1)).toBe(1);
    const image = buildParamsImage(koffi, v1);
    try {
      expect(image.view().readUInt32LE(0)).toBe(1);
      expect([96, 104, 112].map((at) => image.view().readBigUInt64LE(at))).toEqual([0n, 0n, 0n]);
    } finally {
      image.free();
    }
  });
});

describe('SID from native memory', () => {
  it('reads revision, count, big-endian authority and little-endian sub-authorities', () => {
    const b = Buffer.from('010500000000000515000000bf8ac94ce22cfd7470413a0b52040000', 'hex');
    expect(sidFromBytes(b)).toBe('S-1-5-21-1288276671-1962749154-188367216-1106');
  });
});

describe('Windows prototypes (parsed by koffi here; called only on Windows)', () => {
  // Argument counts and kinds as the SDK headers declare them: wide strings are char16_t
  // pointers (UTF-16 on Windows), DWORDs are 32 bits, outputs are pointers to pointers.
  const expected: Record<string, { result: string; args: string[] }> = {
    NetCreateProvisioningPackage: { result: 'uint32_t', args: ['void *', 'out void **', 'out uint32_t *', 'out void **'] },
    NetProvisionComputerAccount: {
      result: 'uint32_t',
      args: ['char16_t *', 'char16_t *', 'char16_t *', 'char16_t *', 'uint32_t', 'out void **', 'out uint32_t *', 'out void **'],
    },
    NetUserGetInfo: { result: 'uint32_t', args: ['char16_t *', 'char16_t *', 'uint32_t', 'out void **'] },
    NetUserDel: { result: 'uint32_t', args: ['char16_t *', 'char16_t *'] },
    NetApiBufferFree: { result: 'uint32_t', args: ['void *'] },
    LogonUserW: { result: 'int', args: ['char16_t *', 'char16_t *', 'char16_t *', 'uint32_t', 'uint32_t', 'out void **'] },
    ImpersonateLoggedOnUser: { result: 'int', args: ['void *'] },
    RevertToSelf: { result: 'int', args: [] },
    CloseHandle: { result: 'int', args: ['void *'] },
    GetLastError: { result: 'uint32_t', args: [] },
  };

  it.each(Object.entries({ ...NETAPI32_PROTOTYPES, ...IMPERSONATION_PROTOTYPES }))('%s', (name, text) => {
    const info = koffi.type(koffi.proto(text)).proto!;
    expect(info.name).toBe(name);
    expect(info.result.name).toBe(expected[name].result);
    // At run time koffi describes each argument as { type, direction } (its .d.ts says TypeObject).
    const args = info.arguments as unknown as Array<{ type: TypeObject; direction: string }>;
    expect(args.map((a) => `${a.direction === 'Output' ? 'out ' : ''}${a.type.name}`)).toEqual(expected[name].args);
  });

  it('splits DOMAIN\\user, keeps user@realm whole, and gives a bare name the default domain', () => {
    expect(splitAccount({ user: 'ODJTEST\\Administrator' })).toEqual({ user: 'Administrator', domain: 'ODJTEST' });
    expect(splitAccount({ user: 'Administrator@odjtest.test', defaultDomain: 'x' })).toEqual({ user: 'Administrator@odjtest.test', domain: null });
    expect(splitAccount({ user: 'Administrator', defaultDomain: 'odjtest.test' })).toEqual({ user: 'Administrator', domain: 'odjtest.test' });
  });
});
