// eslint-disable-next-line no-restricted-imports -- the test reads docs/errors.md from disk; production code stays platform-neutral
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_STATUS, RETRYABLE_CODES } from './errors.ts';

const DOC_URL = new URL('../../../docs/errors.md', import.meta.url);

interface DocRow {
  code: string;
  status: number;
  meaning: string;
  fix: string;
}

/** The rows of the table whose header is `Code | HTTP status | Meaning | How to fix`. */
function docRows(markdown: string): DocRow[] {
  const lines = markdown.split('\n');
  const header = lines.findIndex((l) =>
    /^\|\s*Code\s*\|\s*HTTP status\s*\|\s*Meaning\s*\|\s*How to fix\s*\|$/.test(l.trim()),
  );
  if (header < 0) throw new Error('docs/errors.md has no "Code | HTTP status | Meaning | How to fix" table');
  const rows: DocRow[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.trim().startsWith('|')) break;
    const cells = line
      .trim()
      .replace(/^\||\|$/g, '')
      .split('|')
      .map((c) => c.trim());
    const [code = '', status = '', meaning = '', fix = ''] = cells;
    rows.push({ code: code.replace(/`/g, ''), status: Number(status), meaning, fix });
  }
  return rows;
}

describe('docs/errors.md', () => {
  const rows = docRows(readFileSync(DOC_URL, 'utf8'));
  const documented = rows.map((r) => r.code);
  const catalogue = Object.keys(ERROR_STATUS);

  it('documents every code in ERROR_STATUS', () => {
    expect(catalogue.filter((c) => !documented.includes(c))).toEqual([]);
  });

  it('documents no code that ERROR_STATUS does not have', () => {
    expect(documented.filter((c) => !catalogue.includes(c))).toEqual([]);
  });

  it('lists each code once', () => {
    expect(documented.filter((c, i) => documented.indexOf(c) !== i)).toEqual([]);
  });

  it('gives the status the server sends', () => {
    const wrong = rows
      .filter((r) => r.code in ERROR_STATUS && ERROR_STATUS[r.code as keyof typeof ERROR_STATUS] !== r.status)
      .map((r) => `${r.code}: doc ${r.status}, code ${ERROR_STATUS[r.code as keyof typeof ERROR_STATUS]}`);
    expect(wrong).toEqual([]);
  });

  it('says what each code means and how to fix it', () => {
    const empty = rows.filter((r) => r.meaning.length < 10 || r.fix.length < 10).map((r) => r.code);
    expect(empty).toEqual([]);
  });

  it('marks exactly the retryable codes as retryable', () => {
    const marked = rows.filter((r) => /_Retryable\._/.test(r.meaning)).map((r) => r.code);
    expect(marked.sort()).toEqual([...RETRYABLE_CODES].sort());
  });
});
