// The small pure pieces behind reliability: the per-DC connection gate, the owner rule for
// adopting an interrupted create, and the owner SID read from a security descriptor.
import { describe, expect, it } from 'vitest';
import { isOurs, ownerMarker, ownerOfSecurityDescriptor, hasOwnerMarker } from '../provider/directory/ownership';
import { acquireConnectionSlot, connectionSlotUse } from '../provider/directory/slots';

describe('connection gate', () => {
  it('admits max at once, the rest in arrival order; a release hands the slot on; releasing twice is harmless; idle gates vanish', async () => {
    const key = `ldaps://gate-test-${Math.random()}:636`;
    const order: number[] = [];
    const releases: (() => void)[] = [];
    const waiters = Array.from({ length: 5 }, (_, i) =>
      acquireConnectionSlot(key, 2).then((r) => {
        order.push(i);
        releases[i] = r;
      }),
    );
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual([0, 1]);
    expect(connectionSlotUse()[key]).toEqual({ active: 2, waiting: 3 });
    releases[0]();
    releases[0](); // twice: no extra slot appears
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual([0, 1, 2]);
    expect(connectionSlotUse()[key]).toEqual({ active: 2, waiting: 2 });
    for (const i of [1, 2]) releases[i]();
    await Promise.all(waiters);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    releases[3]();
    releases[4]();
    expect(connectionSlotUse()[key]).toBeUndefined();
  });
});

describe('owner marker and rule', () => {
  it('the marker is a fixed-size hash of the tag: the tag itself never reaches the directory', () => {
    const tag = 'urn:pulumi:prod::secret-project::odj:index:OfflineJoinPackage::web01';
    expect(ownerMarker(tag)).toMatch(/^pulumi-offline-join owner [0-9a-f]{32}$/);
    expect(ownerMarker(tag)).not.toContain('secret-project');
    expect(hasOwnerMarker(ownerMarker(tag), tag)).toBe(true);
    expect(hasOwnerMarker(ownerMarker(tag), `${tag}x`)).toBe(false);
    expect(hasOwnerMarker(undefined, tag)).toBe(false);
  });

  it('adopt only what the bound identity created: the quota creator when recorded, else the owner', () => {
    const token = new Set(['S-1-5-21-1-2-3-500', 'S-1-5-21-1-2-3-512']);
    expect(isOurs({ owner: 'S-1-5-21-1-2-3-512' }, token)).toBe(true); // made by an admin (owner Domain Admins)
    expect(isOurs({ owner: 'S-1-5-21-1-2-3-1105' }, token)).toBe(false); // made by a delegated user
    // Made under the quota by someone else: owner is Domain Admins, but the creator is not us.
    expect(isOurs({ owner: 'S-1-5-21-1-2-3-512', creatorSid: 'S-1-5-21-1-2-3-1105' }, token)).toBe(false);
    expect(isOurs({ owner: 'S-1-5-21-1-2-3-512', creatorSid: 'S-1-5-21-1-2-3-500' }, token)).toBe(true);
    expect(isOurs({}, token)).toBe(false);
  });

  it('reads the owner SID of a self-relative security descriptor, and refuses malformed ones', () => {
    // revision 1, control SE_SELF_RELATIVE, owner at offset 20: S-1-5-32-544
    const sid = Buffer.from([1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0]);
    const sd = Buffer.alloc(20 + sid.length);
    sd[0] = 1;
    sd.writeUInt16LE(0x8000, 2);
    sd.writeUInt32LE(20, 4);
    sid.copy(sd, 20);
    expect(ownerOfSecurityDescriptor(sd)).toBe('S-1-5-32-544');
    expect(ownerOfSecurityDescriptor(sd.subarray(0, 24))).toBeUndefined();
    const noOwner = Buffer.from(sd);
    noOwner.writeUInt32LE(0, 4);
    expect(ownerOfSecurityDescriptor(noOwner)).toBeUndefined();
    expect(ownerOfSecurityDescriptor(Buffer.alloc(4))).toBeUndefined();
  });
});
