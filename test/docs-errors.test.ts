// docs/errors.md is the error reference: one table row per Windows code the project raises. It
// cannot fall behind provider/errors.ts: every code in WindowsCodes has exactly one row with its
// number, a cause and what to do, and no row names a code that does not exist.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WindowsCodes } from '../provider/errors';

interface Row {
  code: string;
  number: string;
  cause: string;
  action: string;
}

/** The table rows whose first cell is a code in backticks. */
function rows(markdown: string): Row[] {
  return markdown
    .split('\n')
    .filter((l) => /^\|\s*`/.test(l))
    .map((l) => {
      const cells = l.replace(/^\|/, '').replace(/\|\s*$/, '').split(' | ').map((c) => c.trim());
      return { code: cells[0].replace(/`/g, ''), number: cells[1], cause: cells[2] ?? '', action: cells[3] ?? '' };
    });
}

const doc = readFileSync(join(__dirname, '..', 'docs', 'errors.md'), 'utf8');
const table = rows(doc);

describe('docs/errors.md', () => {
  it('has one row per code in WindowsCodes and none for a code that does not exist', () => {
    const documented = table.map((r) => r.code);
    expect(documented.filter((c, i) => documented.indexOf(c) !== i)).toEqual([]);
    expect([...documented].sort()).toEqual(Object.keys(WindowsCodes).sort());
  });

  it("each row's number is the code's number (decimal, or hex for HRESULTs) and says a cause and what to do", () => {
    for (const r of table) {
      const n = /^0x[0-9A-F]{8}$/.test(r.number) ? parseInt(r.number, 16) : /^\d+$/.test(r.number) ? Number(r.number) : NaN;
      expect(n, `${r.code}: number cell "${r.number}"`).toBe(WindowsCodes[r.code as keyof typeof WindowsCodes]);
      expect(r.cause.length, `${r.code}: cause`).toBeGreaterThan(10);
      expect(r.action.length, `${r.code}: what to do`).toBeGreaterThan(5);
    }
  });

  it('the parser sees a row that is added, so the checks above cannot pass vacuously', () => {
    const extra = rows(`${doc}| \`ERROR_MADE_UP\` | 1 | a cause for the test | nothing |\n`);
    expect(extra.length).toBe(table.length + 1);
    expect(extra.at(-1)).toEqual({ code: 'ERROR_MADE_UP', number: '1', cause: 'a cause for the test', action: 'nothing' });
  });
});
