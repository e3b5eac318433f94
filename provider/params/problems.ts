// A check that reports every problem at once, not only the first: each independent rule runs, and
// each violation is kept as the ProvisioningError it would have thrown (Windows code, field, rule).
// Faces that stop at the first (the library, the CLI) throw list[0]; the Pulumi Check shows them all.
import { ProvisioningError } from '../errors';

export class Problems {
  readonly list: ProvisioningError[] = [];

  /** Runs one rule: its ProvisioningError is recorded (and undefined returned); anything else is a bug and propagates. */
  check<T>(rule: () => T): T | undefined {
    try {
      return rule();
    } catch (e) {
      if (!(e instanceof ProvisioningError)) throw e;
      this.list.push(e);
      return undefined;
    }
  }

  /** Whether any rule whose field is `field` or inside it (`field.x`, `field[0]`) failed. */
  has(field: string): boolean {
    return this.list.some((e) => e.field === field || e.field?.startsWith(`${field}.`) || e.field?.startsWith(`${field}[`));
  }
}
