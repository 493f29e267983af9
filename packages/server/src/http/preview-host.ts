import { DEFAULT_NAMESPACE, NAME_RE, PlatformError } from '@agenttier/contract';
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

/** The label of a preview Host; throws for sandbox names the label cannot carry unambiguously. */
export function previewLabel(target: PreviewTarget): string {
  // `--` separates the sandbox from its namespace; a name containing it would read as another sandbox.
  if (target.name.includes('--'))
    throw new PlatformError(
      'BAD_REQUEST',
      `sandbox "${target.name}" has "--" in its name, which a preview host name cannot carry; use \`agenttier sandbox port-forward\` (raw TCP) or rename the sandbox`,
    );
  return `${target.port}-${target.name}--${target.namespace}`;
}

/** The preview URL of a sandbox port (ends with `/`). */
export function previewUrlOf(origin: PreviewOrigin, target: PreviewTarget): string {
  const defaultPort = origin.scheme === 'https' ? 443 : 80;
  const port = origin.port !== undefined && origin.port !== defaultPort ? `:${origin.port}` : '';
  return `${origin.scheme}://${previewLabel(target)}.${origin.domain}${port}/`;
}

/** `previewUrlOf`, or null for a sandbox whose name cannot be a preview host. */
export function previewUrlOrNull(origin: PreviewOrigin, target: PreviewTarget): string | null {
  try {
    return previewUrlOf(origin, target);
  } catch {
    return null;
  }
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
  const split = m[2]!.indexOf('--');
  if (split < 0) return {};
  const name = m[2]!.slice(0, split);
  const namespace = m[2]!.slice(split + 2) || DEFAULT_NAMESPACE;
  const port = Number(m[1]);
  if (port < 1 || port > 65535 || !NAME_RE.test(name) || !NAME_RE.test(namespace)) return {};
  return { target: { port, name, namespace } };
}
