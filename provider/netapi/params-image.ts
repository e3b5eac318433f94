// The memory image of a NETSETUP_PROVISIONING_PARAMS for Netapi32: one block of unmanaged memory
// holding the struct, then the pointer arrays, then the NUL-terminated UTF-16LE strings, with
// every pointer member holding an address inside the block. Built by hand (offsets from koffi's
// layout) so the bytes a call passes can be inspected, and freed in one piece.
import type { NativeProvisionRequest } from './native';
import {
  NETSETUP_PROVISIONING_PARAMS_CURRENT_VERSION,
  NETSETUP_PROVISIONING_PARAMS_WIN8_VERSION,
  PROVISIONING_PARAMS_MEMBERS,
  provisioningParamsModel,
  provisioningParamsType,
  type WindowsAbi,
} from './layout';
import { pointerValue, type KoffiModule } from './koffi';

export interface ParamsImage {
  /** address of the struct (the start of the block) */
  readonly address: bigint;
  /** bytes in the block */
  readonly size: number;
  /** the block, without copying; valid until free() */
  view(): Buffer;
  free(): void;
}

/** The later members need version 2; without them version 1 keeps older Windows working. */
export function paramsVersion(r: NativeProvisionRequest): number {
  return r.netbiosName || r.siteName || r.primaryDnsDomain
    ? NETSETUP_PROVISIONING_PARAMS_CURRENT_VERSION
    : NETSETUP_PROVISIONING_PARAMS_WIN8_VERSION;
}

const utf16z = (s: string): Buffer => Buffer.from(s + '\0', 'utf16le');
const align = (n: number, a: number): number => Math.ceil(n / a) * a;

/** Where everything goes in the block: arrays of pointers right after the struct, then every
 *  string (UTF-16, 2-aligned); offsets from the start of the block. */
interface BlockPlan {
  arrayAt: Record<string, number>;
  stringAt: Record<string, number>;
  itemAt: Record<string, number[]>;
  blobs: Array<{ at: number; bytes: Buffer }>;
  size: number;
}

function planBlock(r: NativeProvisionRequest, structSize: number, ptrSize: number): BlockPlan {
  const strings: Record<string, string | undefined> = {
    lpDomain: r.domain,
    lpHostName: r.machineName,
    lpMachineAccountOU: r.machineAccountOU,
    lpDcName: r.dcName,
    lpNetbiosName: r.netbiosName,
    lpSiteName: r.siteName,
    lpPrimaryDNSDomain: r.primaryDnsDomain,
  };
  const arrays: Record<string, string[]> = {
    aCertTemplateNames: r.certTemplateNames,
    aMachinePolicyNames: r.machinePolicyNames,
    aMachinePolicyPaths: r.machinePolicyPaths,
  };
  let cursor = structSize;
  const arrayAt: Record<string, number> = {};
  for (const [name, items] of Object.entries(arrays)) {
    if (items.length === 0) continue;
    arrayAt[name] = cursor;
    cursor += items.length * ptrSize;
  }
  const blobs: BlockPlan['blobs'] = [];
  const place = (s: string): number => {
    const bytes = utf16z(s);
    const at = align(cursor, 2);
    blobs.push({ at, bytes });
    cursor = at + bytes.length;
    return at;
  };
  const stringAt: Record<string, number> = {};
  for (const [name, s] of Object.entries(strings)) if (s !== undefined) stringAt[name] = place(s);
  const itemAt: Record<string, number[]> = {};
  for (const [name, items] of Object.entries(arrays)) itemAt[name] = items.map(place);
  return { arrayAt, stringAt, itemAt, blobs, size: align(cursor, ptrSize) };
}

/** The image for this machine (what a call passes), or laid out for another Windows ABI so its
 *  bytes can be inspected here (pointers then hold the low bits of this machine's addresses). */
export function buildParamsImage(koffi: KoffiModule, r: NativeProvisionRequest, abi?: WindowsAbi): ParamsImage {
  const type = abi ? provisioningParamsModel(koffi, abi) : provisioningParamsType(koffi);
  const ptrSize = abi ? (abi === 'x86' ? 4 : 8) : koffi.sizeof('void *');
  const { arrayAt, stringAt, itemAt, blobs, size } = planBlock(r, align(koffi.sizeof(type), ptrSize), ptrSize);

  const raw = koffi.alloc('uint8_t', size);
  const base = pointerValue(koffi, raw);
  if (base === null) throw new Error('out of memory for NETSETUP_PROVISIONING_PARAMS');
  const buf = Buffer.from(koffi.view(raw, size));
  buf.fill(0);
  const writePtr = (at: number, offset: number | null): void => {
    const v = offset === null ? 0n : base + BigInt(offset);
    if (ptrSize === 8) buf.writeBigUInt64LE(v, at);
    else buf.writeUInt32LE(Number(v & 0xffffffffn), at);
  };
  for (const b of blobs) b.bytes.copy(buf, b.at);

  const dwords: Record<string, number> = {
    dwVersion: paramsVersion(r),
    dwProvisionOptions: r.options >>> 0,
    cCertTemplateNames: r.certTemplateNames.length,
    cMachinePolicyNames: r.machinePolicyNames.length,
    cMachinePolicyPaths: r.machinePolicyPaths.length,
  };
  for (const [name, kind] of PROVISIONING_PARAMS_MEMBERS) {
    const at = koffi.offsetof(type, name);
    if (kind === 'DWORD') buf.writeUInt32LE(dwords[name] ?? 0, at);
    else if (kind === 'LPCWSTR*') {
      const items = itemAt[name] ?? [];
      writePtr(at, items.length ? arrayAt[name] : null);
      items.forEach((off, i) => writePtr(arrayAt[name] + i * ptrSize, off));
    } else writePtr(at, stringAt[name] ?? null);
  }

  let freed = false;
  return {
    address: base,
    size,
    view: () => buf,
    free: () => {
      if (!freed) koffi.free(raw);
      freed = true;
    },
  };
}
