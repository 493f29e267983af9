import { DEFAULT_NAMESPACE, NAME_RE } from '@agenttier/contract';
import type { HostHeader } from './host-guard.ts';

/**
 * Previews live on their own origin, one per sandbox and port: `{port}-{sandbox}--{namespace}.{domain}`.
 * Sandbox content then never runs with the API's origin (it could call the API with the user's
 * credentials, or register a service worker over it), and two previews cannot read each other.
 */
export interface PreviewOrigin {
  scheme: 'http' | 'https';
  /** The wildcard's parent domain: `localhost` for `http://*.localhost:8080`. */
  domain: string;
  /** Port in preview URLs and required of preview Hosts; undefined = the scheme's default. */
  port?: number;
}

/** Which sandbox port a preview Host names. */
export interface PreviewTarget {
  port: number;
  name: string;
  namespace: string;
}

/**
 * Parses `http://*.localhost:8080` or `https://*.preview.example.com`. The `*` stands for one DNS
 * label, so one wildcard DNS record and one wildcard certificate cover every preview.
 */
export function parsePreviewOrigin(text: string): PreviewOrigin {
  const m = /^(https?):\/\/\*\.([a-z0-9](?:[-a-z0-9.]*[a-z0-9])?)(?::(\d{1,5}))?\/?$/.exec(
    text.trim().toLowerCase(),
  );
  if (!m)
    throw new Error(
      `invalid preview origin "${text}": use scheme://*.domain[:port], e.g. http://*.localhost:8080 or https://*.preview.example.com`,
    );
  return { scheme: m[1] as 'http' | 'https', domain: m[2]!, ...(m[3] ? { port: Number(m[3]) } : {}) };
}

/**
 * A name with `--` in it, written so that the label has no `--` but the separator: every `-` becomes
 * `-1` (a `-` is then always followed by `1`, so `--` cannot occur and decoding is unique).
 */
function escapeDashes(name: string): string {
  return name.replace(/-/g, '-1');
}

/**
 * The label of a preview Host. `--` separates the sandbox from its namespace, so a name must not
 * contain it: names without `--` are written as they are (`{port}-{name}--{namespace}`), names with it
 * as `{port}--{escaped name}--{namespace}` (escapeDashes). A name starts with a letter or digit, so the
 * two forms cannot be confused, and every sandbox port has exactly one label.
 */
export function previewLabel(target: PreviewTarget): string {
  if (!target.name.includes('--')) return `${target.port}-${target.name}--${target.namespace}`;
  return `${target.port}--${escapeDashes(target.name)}--${target.namespace}`;
}

/** The preview URL of a sandbox port (ends with `/`). */
export function previewUrlOf(origin: PreviewOrigin, target: PreviewTarget): string {
  const defaultPort = origin.scheme === 'https' ? 443 : 80;
  const port = origin.port !== undefined && origin.port !== defaultPort ? `:${origin.port}` : '';
  return `${origin.scheme}://${previewLabel(target)}.${origin.domain}${port}/`;
}

/** The name and namespace a label's part after `{port}-` names, or undefined when it names none. */
function parseLabelRest(rest: string): { name: string; namespace: string } | undefined {
  const escaped = rest.startsWith('-');
  const body = escaped ? rest.slice(1) : rest;
  const split = body.indexOf('--');
  if (split < 0) return undefined;
  let name = body.slice(0, split);
  if (escaped) {
    // Every `-` must be the start of `-1`; and the escaped form is only for names that need it, so
    // each sandbox port keeps exactly one host name.
    if (!/^(?:[a-z0-9]|-1)+$/.test(name)) return undefined;
    name = name.replace(/-1/g, '-');
    if (!name.includes('--')) return undefined;
  }
  return { name, namespace: body.slice(split + 2) || DEFAULT_NAMESPACE };
}

/**
 * The preview a Host names, or undefined when the Host is not under the preview domain. A Host under
 * the domain that does not parse as `{port}-{sandbox}--{namespace}` is a preview Host naming nothing:
 * the caller answers 404 for it and never treats it as the API.
 */
export function matchPreviewHost(
  host: HostHeader,
  origin: PreviewOrigin,
): { target?: PreviewTarget } | undefined {
  const suffix = `.${origin.domain}`;
  if (!host.hostname.endsWith(suffix)) return undefined;
  const wantPort = origin.port ?? (origin.scheme === 'https' ? 443 : 80);
  if ((host.port ?? (origin.scheme === 'https' ? 443 : 80)) !== wantPort) return undefined;
  const label = host.hostname.slice(0, -suffix.length);
  const m = /^(\d{1,5})-(.+)$/.exec(label);
  if (!m) return {};
  const parsed = parseLabelRest(m[2]!);
  if (!parsed) return {};
  const { name, namespace } = parsed;
  const port = Number(m[1]);
  if (port < 1 || port > 65535 || !NAME_RE.test(name) || !NAME_RE.test(namespace)) return {};
  return { target: { port, name, namespace } };
}
