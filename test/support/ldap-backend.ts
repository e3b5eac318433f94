// Shared bits of the LDAP backend tests: connection settings for the test DC and unique machine
// names that are cleaned up afterwards (through support/ldap.ts, not the code under test).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ConnectionSettings } from '../../provider/backend';
import { testDc } from './dc';
import { deleteAccount } from './ldap';

export function adminConnection(extra: Partial<ConnectionSettings> = {}): ConnectionSettings {
  const dc = testDc();
  return {
    url: dc.ldapUrl,
    bindUser: dc.adminUser,
    bindPassword: dc.adminPassword,
    caCerts: [readFileSync(dc.caFile, 'utf8')],
    timeoutMs: 20_000,
    ...extra,
  };
}

/** Unique machine names per test file; `cleanup()` deletes whatever accounts they got. */
export function machineNames(prefix: string): { next(): string; cleanup(): Promise<void> } {
  const made: string[] = [];
  return {
    next() {
      const n = `${prefix}${randomBytes(5).toString('hex').toUpperCase()}`.slice(0, 15);
      made.push(n);
      return n;
    },
    async cleanup() {
      for (const n of made.splice(0)) await deleteAccount(`${n}$`).catch(() => undefined);
    },
  };
}
