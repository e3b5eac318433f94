// A bound on concurrent LDAP connections from this process to one DC. Many resources of one
// `pulumi up` run in parallel in one provider process; without a bound, 200 of them would open 200
// TLS connections at once. Callers beyond the bound wait in order. The wait is bounded too: every
// holder's steps each time out, and a connection's slot is released when it closes.
import { Limits } from '../limits';

interface Gate {
  active: number;
  waiting: (() => void)[];
}

// The one piece of process-wide state in directory/: it must be shared to limit anything. Entries
// are removed when idle, so it does not grow with the number of DCs ever seen.
const gates = new Map<string, Gate>();

let slotWanted: (key: string) => void = () => undefined;

/** Told when a caller has to wait for a slot: the pool (pool.ts) then closes an idle connection of
 *  that DC, which frees its slot for the caller. */
export function onSlotWanted(handler: (key: string) => void): void {
  slotWanted = handler;
}

/** Wait for a free connection slot for `key` (the DC's URL); returns the release, safe to call twice. */
export async function acquireConnectionSlot(key: string, max: number = Limits.connectionsPerDc): Promise<() => void> {
  let gate = gates.get(key);
  if (!gate) gates.set(key, (gate = { active: 0, waiting: [] }));
  const g = gate;
  if (g.active >= max) {
    const wait = new Promise<void>((resolve) => g.waiting.push(resolve));
    slotWanted(key);
    await wait;
  } else g.active++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const next = g.waiting.shift();
    // Hand the slot straight to the next waiter (active stays the same), or free it.
    if (next) next();
    else if (--g.active === 0 && gates.get(key) === g) gates.delete(key);
  };
}

/** Connections open or waiting per DC: for tests and diagnostics. */
export function connectionSlotUse(): Record<string, { active: number; waiting: number }> {
  return Object.fromEntries([...gates].map(([k, g]) => [k, { active: g.active, waiting: g.waiting.length }]));
}
