// Name and metadata validation with the apiserver's messages (apimachinery/pkg/util/validation and
// api/validation/objectmeta.go). Operators hit these with generated names, so the text matters.
import type { FieldError } from './status.ts';
import { isObject, str } from './json.ts';
import type { JsonObject } from './json.ts';
import { isLabelValue, isQualifiedName } from './selectors.ts';

export type NameRule = 'subdomain' | 'label' | 'dns1035' | 'path';

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

const MESSAGES: Record<Exclude<NameRule, 'path'>, [RegExp, number, string]> = {
  subdomain: [
    SUBDOMAIN,
    253,
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
  ],
  label: [
    LABEL,
    63,
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
  ],
  dns1035: [
    DNS1035,
    63,
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
  ],
};

export function validateName(rule: NameRule, name: string, field = 'metadata.name'): FieldError[] {
  if (rule === 'path') {
    if (name === '.' || name === '..')
      return [{ type: 'Invalid', field, value: name, detail: `may not be '${name}'` }];
    for (const bad of ['/', '%']) {
      if (name.includes(bad))
        return [{ type: 'Invalid', field, value: name, detail: `may not contain '${bad}'` }];
    }
    return [];
  }
  const [re, max, msg] = MESSAGES[rule];
  const errs: FieldError[] = [];
  if (name.length > max)
    errs.push({ type: 'Invalid', field, value: name, detail: `must be no more than ${max} characters` });
  if (!re.test(name)) errs.push({ type: 'Invalid', field, value: name, detail: msg });
  return errs;
}

// The alphabet the apiserver uses for generateName suffixes (no vowels, no look-alikes).
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function generateName(prefix: string): string {
  const base = prefix.length > 58 ? prefix.slice(0, 58) : prefix;
  let s = '';
  for (let i = 0; i < 5; i++) s += SUFFIX_ALPHABET[Math.floor(Math.random() * SUFFIX_ALPHABET.length)];
  return base + s;
}

const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const QUALIFIED_MSG =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

/** ObjectMeta checks shared by every kind: labels, annotations, finalizers, ownerReferences. */
export function validateObjectMeta(meta: JsonObject): FieldError[] {
  const errs: FieldError[] = [];
  const labels = meta.labels;
  if (isObject(labels)) {
    for (const [k, v] of Object.entries(labels)) {
      if (!isQualifiedName(k))
        errs.push({ type: 'Invalid', field: 'metadata.labels', value: k, detail: QUALIFIED_MSG });
      if (typeof v !== 'string' || !isLabelValue(v)) {
        errs.push({ type: 'Invalid', field: 'metadata.labels', value: v, detail: LABEL_VALUE_MSG });
      }
    }
  }
  const annotations = meta.annotations;
  if (isObject(annotations)) {
    let total = 0;
    for (const [k, v] of Object.entries(annotations)) {
      if (!isQualifiedName(k.toLowerCase())) {
        errs.push({ type: 'Invalid', field: 'metadata.annotations', value: k, detail: QUALIFIED_MSG });
      }
      total += k.length + (typeof v === 'string' ? v.length : 0);
    }
    if (total > 262144) {
      errs.push({
        type: 'TooLong',
        field: 'metadata.annotations',
        detail: 'may not be more than 262144 bytes',
      });
    }
  }
  const finalizers = meta.finalizers;
  if (Array.isArray(finalizers)) {
    finalizers.forEach((f, i) => {
      if (typeof f !== 'string' || !isQualifiedName(f)) {
        errs.push({ type: 'Invalid', field: `metadata.finalizers[${i}]`, value: f, detail: QUALIFIED_MSG });
      }
    });
  }
  const refs = meta.ownerReferences;
  if (Array.isArray(refs)) {
    let controllers = 0;
    for (const r of refs) {
      const ref = isObject(r) ? r : {};
      const apiVersion = str(ref.apiVersion) ?? '';
      const version = apiVersion.includes('/') ? apiVersion.split('/')[1] : apiVersion;
      const f = 'metadata.ownerReferences';
      if (!version)
        errs.push({
          type: 'Invalid',
          field: `${f}.apiVersion`,
          value: apiVersion,
          detail: 'version must not be empty',
        });
      if (!str(ref.kind))
        errs.push({
          type: 'Invalid',
          field: `${f}.kind`,
          value: ref.kind ?? '',
          detail: 'kind must not be empty',
        });
      if (!str(ref.name))
        errs.push({
          type: 'Invalid',
          field: `${f}.name`,
          value: ref.name ?? '',
          detail: 'name must not be empty',
        });
      if (!str(ref.uid))
        errs.push({
          type: 'Invalid',
          field: `${f}.uid`,
          value: ref.uid ?? '',
          detail: 'uid must not be empty',
        });
      if (ref.controller === true) controllers++;
    }
    if (controllers > 1) {
      errs.push({
        type: 'Invalid',
        field: 'metadata.ownerReferences',
        value: refs,
        detail: 'Only one reference can have Controller set to true',
      });
    }
  }
  return errs;
}
