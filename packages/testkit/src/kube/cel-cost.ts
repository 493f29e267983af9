// The apiserver's static cost estimate of CRD validation rules (`x-kubernetes-validations`), which
// refuses a CRD whose rule could cost more than the per-rule budget (10,000,000) or whose rules
// together could cost more than the per-CRD budget (100,000,000), as on every release we support.
//
// The model follows apiextensions' estimation: a rule's cost is its expression's worst-case cost,
// with sizes from the schema (a string's maxLength counts 4 bytes per character; an unbounded string
// or list is as large as a 3 MiB request allows), times the node's cardinality: the product of
// maxItems/maxProperties of every enclosing list or map, an unbounded one counting as many items as
// a 3 MiB request holds (3 MiB / (the item's smallest JSON size + 1)). Function costs are cel-go's
// for what CRD rules use (matches: ⌈0.1·string size⌉·⌈0.25·regex size⌉; startsWith/endsWith and
// string comparisons: ⌈0.1·size⌉; identifiers and field selections 1; macros over a list: the body's
// cost per item). Other functions count 1 plus their arguments, so the estimate may be lower than
// the real server's for rules built from Kubernetes' extension libraries; the conformance suite
// checks the cases AgentTier's CRDs rely on against real servers.
import { parse } from '@marcbachmann/cel-js';
import type { ASTNode } from '@marcbachmann/cel-js';
import { isObject, str } from './json.ts';
import type { JsonObject } from './json.ts';
import type { FieldError } from './status.ts';

type Schema = JsonObject;

export const PER_RULE_COST_LIMIT = 10_000_000;
export const PER_CRD_COST_LIMIT = 100_000_000;
const MAX_REQUEST_SIZE_BYTES = 3 * 1024 * 1024;
const STRING_TRAVERSAL_FACTOR = 0.1;
const REGEX_LENGTH_FACTOR = 0.25;
const MACROS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);

/** What the estimate knows of a value: the schema it came from, and its largest size. */
interface Est {
  cost: number;
  schema?: Schema;
  /** Bytes for strings, items for lists and maps. */
  size: number;
}

/** The smallest JSON encoding of a value of this schema (apiextensions' estimateMinSizeJSON). */
function minJsonSize(s: Schema | undefined): number {
  switch (s?.type) {
    case 'string':
      return 2 + (typeof s.minLength === 'number' ? s.minLength : 0);
    case 'boolean':
      return 4;
    case 'integer':
    case 'number':
      return 1;
    default:
      return 2; // {} and []
  }
}

function unboundedCount(item: Schema | undefined): number {
  return Math.floor(MAX_REQUEST_SIZE_BYTES / (minJsonSize(item) + 1));
}

/** The largest size of a value of this schema, as the estimator sees it. */
function maxSize(s: Schema | undefined): number {
  if (!s) return 1;
  if (s.type === 'string') {
    if (typeof s.maxLength === 'number') return s.maxLength * 4;
    if (Array.isArray(s.enum)) return Math.max(0, ...s.enum.map((v) => String(v).length));
    return MAX_REQUEST_SIZE_BYTES - 2;
  }
  if (s.type === 'array') {
    if (typeof s.maxItems === 'number') return s.maxItems;
    return unboundedCount(isObject(s.items) ? s.items : undefined);
  }
  if (s.type === 'object' && isObject(s.additionalProperties)) {
    if (typeof s.maxProperties === 'number') return s.maxProperties;
    return unboundedCount(s.additionalProperties);
  }
  return 1;
}

const factor = (size: number, f: number) => Math.ceil(size * f);

function child(s: Schema | undefined, field: string): Schema | undefined {
  if (!s) return undefined;
  if (isObject(s.properties) && isObject(s.properties[field])) return s.properties[field];
  // metadata.name and metadata.generateName at the root: strings without a declared bound.
  if (field === 'metadata') return { type: 'object', properties: { name: { type: 'string' } } };
  return isObject(s.additionalProperties) ? s.additionalProperties : undefined;
}

function itemOf(s: Schema | undefined): Schema | undefined {
  if (!s) return undefined;
  if (isObject(s.items)) return s.items;
  return isObject(s.additionalProperties) ? s.additionalProperties : undefined;
}

function literal(value: unknown): Est {
  if (typeof value === 'string') return { cost: 0, schema: { type: 'string' }, size: value.length };
  return { cost: 0, size: 1 };
}

function estimate(node: ASTNode, vars: Map<string, Schema | undefined>): Est {
  const sum = (...xs: Est[]) => xs.reduce((n, x) => n + x.cost, 0);
  switch (node.op) {
    case 'value':
      return literal(node.args);
    case 'id': {
      const s = vars.get(node.args);
      return { cost: 1, ...(s ? { schema: s } : {}), size: maxSize(s) };
    }
    case '.':
    case '.?': {
      const base = estimate(node.args[0], vars);
      const s = child(base.schema, node.args[1]);
      return { cost: base.cost + 1, ...(s ? { schema: s } : {}), size: maxSize(s) };
    }
    case '[]':
    case '[?]': {
      const base = estimate(node.args[0], vars);
      const idx = estimate(node.args[1], vars);
      const s = itemOf(base.schema);
      return { cost: base.cost + idx.cost + 1, ...(s ? { schema: s } : {}), size: maxSize(s) };
    }
    case 'list': {
      const items = node.args.map((a) => estimate(a, vars));
      return { cost: 10 + sum(...items), size: items.length };
    }
    case 'map': {
      const parts = node.args.flatMap(([k, v]) => [estimate(k, vars), estimate(v, vars)]);
      return { cost: 30 + sum(...parts), size: node.args.length };
    }
    case '&&':
    case '||':
      return { cost: sum(estimate(node.args[0], vars), estimate(node.args[1], vars)), size: 1 };
    case '?:':
      return { cost: sum(...node.args.map((a) => estimate(a, vars))), size: 1 };
    case '!_':
    case '-_':
      return { cost: estimate(node.args, vars).cost + 1, size: 1 };
    case 'call': {
      const [name, args] = node.args;
      const ests = args.map((a) => estimate(a, vars));
      if (name === 'has') return { cost: sum(...ests), size: 1 };
      return { cost: 1 + sum(...ests), size: 1 };
    }
    case 'rcall': {
      const [name, target, args] = node.args;
      const recv = estimate(target, vars);
      if (MACROS.has(name) && args[0]?.op === 'id') {
        const inner = new Map(vars);
        inner.set(args[0].args, itemOf(recv.schema));
        const body = args.slice(1).map((a) => estimate(a, inner));
        return { cost: recv.cost + recv.size * (sum(...body) + 1), size: recv.size };
      }
      const ests = args.map((a) => estimate(a, vars));
      const base = recv.cost + sum(...ests);
      if (name === 'matches' && ests[0]) {
        const regex = ests[0].size;
        return {
          cost: base + factor(recv.size, STRING_TRAVERSAL_FACTOR) * factor(regex, REGEX_LENGTH_FACTOR),
          size: 1,
        };
      }
      if ((name === 'startsWith' || name === 'endsWith') && ests[0])
        return { cost: base + factor(ests[0].size, STRING_TRAVERSAL_FACTOR), size: 1 };
      if (name === 'contains' && ests[0]) {
        return {
          cost:
            base + factor(recv.size, STRING_TRAVERSAL_FACTOR) * factor(ests[0].size, STRING_TRAVERSAL_FACTOR),
          size: 1,
        };
      }
      return { cost: base + 1, size: 1 };
    }
    case 'in': {
      const [a, b] = [estimate(node.args[0], vars), estimate(node.args[1], vars)];
      return { cost: a.cost + b.cost + b.size, size: 1 };
    }
    default: {
      // Binary operators: comparisons of strings traverse them.
      const [a, b] = (node.args as [ASTNode, ASTNode]).map((x) => estimate(x, vars));
      const strings = a!.schema?.type === 'string' || b!.schema?.type === 'string';
      const op = strings ? factor(Math.min(a!.size, b!.size), STRING_TRAVERSAL_FACTOR) : 0;
      return { cost: a!.cost + b!.cost + Math.max(1, op), size: 1 };
    }
  }
}

/** The worst-case cost of one rule evaluated once, `self` being a value of `schema`. */
export function estimateRuleCost(rule: string, schema: Schema): number {
  const vars = new Map<string, Schema | undefined>([
    ['self', schema],
    ['oldSelf', schema],
  ]);
  return estimate(parse(rule).ast, vars).cost;
}

function budgetMessage(what: string, cost: number, limit: number): string {
  const times = cost / limit;
  const by = times > 100 ? 'more than 100x' : `${times.toFixed(1)}x`;
  return `${what} exceeds budget by factor of ${by} (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)`;
}

/** The cost errors of a CRD version's schema, reported under `prefix` (as the structural ones). */
export function validateCelCost(schema: unknown, prefix: string): FieldError[] {
  if (!isObject(schema)) return [];
  const errs: FieldError[] = [];
  let total = 0;
  const costs: Array<{ path: string; cost: number }> = [];
  const walk = (s: Schema, path: string, cardinality: number) => {
    const rules = s['x-kubernetes-validations'];
    if (Array.isArray(rules)) {
      rules.forEach((r, i) => {
        const rule = isObject(r) ? str(r.rule) : undefined;
        if (!rule) return;
        let cost: number;
        try {
          cost = estimateRuleCost(rule, s) * cardinality;
        } catch {
          return; // compile errors are reported by evaluation, not here
        }
        total += cost;
        costs.push({ path: `${path}.x-kubernetes-validations[${i}].rule`, cost });
        if (cost > PER_RULE_COST_LIMIT) {
          errs.push({
            type: 'Forbidden',
            field: `${path}.x-kubernetes-validations[${i}].rule`,
            detail: budgetMessage('estimated rule cost', cost, PER_RULE_COST_LIMIT),
          });
        }
      });
    }
    if (isObject(s.properties)) {
      for (const [k, ps] of Object.entries(s.properties))
        if (isObject(ps)) walk(ps, `${path}.properties[${k}]`, cardinality);
    }
    if (isObject(s.items)) walk(s.items, `${path}.items`, cardinality * maxSize(s));
    if (isObject(s.additionalProperties))
      walk(s.additionalProperties, `${path}.additionalProperties`, cardinality * maxSize(s));
  };
  walk(schema, prefix, 1);
  if (total > PER_CRD_COST_LIMIT) {
    // The server names the (at most four) most expensive rules, most expensive first.
    for (const { path } of costs.sort((a, b) => b.cost - a.cost).slice(0, 4)) {
      errs.push({
        type: 'Forbidden',
        field: path,
        detail: 'contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema',
      });
    }
    errs.push({
      type: 'Forbidden',
      field: prefix,
      detail: budgetMessage(
        'x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema',
        total,
        PER_CRD_COST_LIMIT,
      ),
    });
  }
  return errs;
}
