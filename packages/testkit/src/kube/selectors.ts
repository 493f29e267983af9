// Label and field selectors with the real grammar (k8s.io/apimachinery/pkg/labels and /fields):
// equality, set-based (`in`, `notin`, exists, `!key`) and numeric `>`/`<` for labels; `=`, `==`, `!=`
// for fields. Parse errors become 400s at the HTTP layer.

export type LabelRequirement =
  | { key: string; op: 'exists' | 'notexists' }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'gt' | 'lt'; value: number };

export class SelectorParseError extends Error {}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A qualified name (`prefix/name`) as label keys and finalizers use. */
export function isQualifiedName(key: string): boolean {
  const parts = key.split('/');
  if (parts.length > 2) return false;
  const name = parts[parts.length - 1] ?? '';
  if (name.length === 0 || name.length > 63 || !NAME_PART.test(name)) return false;
  if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    if (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) return false;
  }
  return true;
}

export function isLabelValue(v: string): boolean {
  return v.length <= 63 && LABEL_VALUE.test(v);
}

type Token = { kind: 'id' | 'op' | 'lparen' | 'rparen' | 'comma' | 'not'; text: string };

function lexLabels(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i] ?? '';
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '(') {
      out.push({ kind: 'lparen', text: c });
      i++;
    } else if (c === ')') {
      out.push({ kind: 'rparen', text: c });
      i++;
    } else if (c === ',') {
      out.push({ kind: 'comma', text: c });
      i++;
    } else if (s.startsWith('==', i) || s.startsWith('!=', i)) {
      out.push({ kind: 'op', text: s.slice(i, i + 2) });
      i += 2;
    } else if (c === '=' || c === '>' || c === '<') {
      out.push({ kind: 'op', text: c });
      i++;
    } else if (c === '!') {
      out.push({ kind: 'not', text: c });
      i++;
    } else {
      let j = i;
      while (j < s.length && !/[\s(),=!<>]/.test(s[j] ?? '')) j++;
      out.push({ kind: 'id', text: s.slice(i, j) });
      i = j;
    }
  }
  return out;
}

export function parseLabelSelector(s: string | undefined): LabelRequirement[] {
  if (!s || s.trim() === '') return [];
  const toks = lexLabels(s);
  const reqs: LabelRequirement[] = [];
  let i = 0;
  const fail = (what: string): never => {
    throw new SelectorParseError(`unable to parse requirement: ${what}`);
  };
  const checkKey = (k: string) => {
    if (!isQualifiedName(k))
      fail(`invalid label key "${k}": name part must consist of alphanumeric characters`);
  };
  const checkValue = (v: string) => {
    if (!isLabelValue(v))
      fail(
        `values[0][${v}]: Invalid value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'`,
      );
  };
  while (i < toks.length) {
    let t = toks[i];
    if (!t) break;
    if (t.kind === 'not') {
      const k = toks[i + 1];
      if (!k || k.kind !== 'id') fail(`found '${k?.text ?? ''}', expected: identifier after '!'`);
      checkKey(k!.text);
      reqs.push({ key: k!.text, op: 'notexists' });
      i += 2;
    } else if (t.kind === 'id') {
      const key = t.text;
      checkKey(key);
      const next = toks[i + 1];
      if (!next || next.kind === 'comma') {
        reqs.push({ key, op: 'exists' });
        i += 1;
      } else if (next.kind === 'op') {
        const val = toks[i + 2];
        let value = '';
        let used = 2;
        if (val && val.kind === 'id') {
          value = val.text;
          used = 3;
        }
        if (next.text === '>' || next.text === '<') {
          const n = Number(value);
          if (!/^-?\d+$/.test(value)) fail(`for 'Gt', 'Lt' operators, the value must be an integer`);
          reqs.push({ key, op: next.text === '>' ? 'gt' : 'lt', value: n });
        } else {
          checkValue(value);
          reqs.push({ key, op: next.text === '!=' ? 'notin' : 'in', values: [value] });
        }
        i += used;
      } else if (next.kind === 'id' && (next.text === 'in' || next.text === 'notin')) {
        const lp = toks[i + 2];
        if (!lp || lp.kind !== 'lparen') fail(`found '${lp?.text ?? ''}', expected: '('`);
        const values: string[] = [];
        let j = i + 3;
        for (;;) {
          t = toks[j];
          if (!t) fail(`found '', expected: ')'`);
          if (t!.kind === 'rparen') break;
          if (t!.kind === 'comma') {
            j++;
            continue;
          }
          if (t!.kind !== 'id') fail(`found '${t!.text}', expected: identifier`);
          checkValue(t!.text);
          values.push(t!.text);
          j++;
        }
        reqs.push({ key, op: next.text === 'in' ? 'in' : 'notin', values });
        i = j + 1;
      } else {
        fail(`found '${next.text}', expected: in, notin, =, ==, !=, gt, lt`);
      }
    } else {
      fail(`found '${t.text}', expected: !, identifier, or 'end of string'`);
    }
    const sep = toks[i];
    if (sep) {
      if (sep.kind !== 'comma') fail(`found '${sep.text}', expected: ',' or 'end of string'`);
      i++;
      if (i >= toks.length) fail(`found '', expected: identifier`);
    }
  }
  return reqs;
}

export function matchesLabels(
  reqs: LabelRequirement[],
  labels: Record<string, unknown> | undefined,
): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = has ? String(l[r.key]) : undefined;
    switch (r.op) {
      case 'exists':
        return has;
      case 'notexists':
        return !has;
      case 'in':
        return v !== undefined && r.values.includes(v);
      case 'notin':
        return v === undefined || !r.values.includes(v);
      case 'gt':
        return v !== undefined && /^-?\d+$/.test(v) && Number(v) > r.value;
      case 'lt':
        return v !== undefined && /^-?\d+$/.test(v) && Number(v) < r.value;
    }
    return false;
  });
}

export interface FieldRequirement {
  key: string;
  op: '=' | '!=';
  value: string;
}

/** Splits on unescaped `sep`; the field-selector syntax escapes `\`, `,` and `=` with a backslash. */
function splitEscaped(s: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? '';
    if (c === '\\' && i + 1 < s.length) {
      cur += c + (s[i + 1] ?? '');
      i++;
    } else if (c === sep) {
      parts.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  parts.push(cur);
  return parts;
}

function unescape(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}

export function parseFieldSelector(s: string | undefined): FieldRequirement[] {
  if (!s || s.trim() === '') return [];
  return splitEscaped(s, ',').map((term) => {
    for (const [tok, op] of [
      ['!=', '!='],
      ['==', '='],
      ['=', '='],
    ] as const) {
      const idx = findUnescaped(term, tok);
      if (idx >= 0) {
        return { key: term.slice(0, idx).trim(), op, value: unescape(term.slice(idx + tok.length)) };
      }
    }
    throw new SelectorParseError(`invalid selector: '${s}'; can't understand '${term}'`);
  });
}

function findUnescaped(s: string, tok: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\') {
      i++;
      continue;
    }
    if (s.startsWith(tok, i)) return i;
  }
  return -1;
}

export function matchesFields(reqs: FieldRequirement[], get: (key: string) => string | undefined): boolean {
  return reqs.every((r) => {
    const v = get(r.key) ?? '';
    return r.op === '=' ? v === r.value : v !== r.value;
  });
}
