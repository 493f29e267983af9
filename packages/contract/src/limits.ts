/**
 * The one table of input limits. The REST API's request schemas, the resource schemas (and through
 * them the CRDs' openAPIV3Schema, see scripts/gen-crds.ts) and the local platform's checks all read
 * these numbers, so a value refused in one place is refused everywhere. docs/api.md lists them.
 */
export const LIMITS = {
  /** Sandbox, template and namespace names (DNS-1123 labels, leaving room for "-workspace" within 63). */
  nameMaxLength: 53,
  /** `resources.limits.memory` and `requests.memory` floor: below this the container cannot start sandboxd. */
  memoryMinBytes: 16 * 1024 * 1024,
  /** `timeout`, `idleTimeout`, `defaultInvokeTimeout`: 30 days. */
  durationMaxMs: 30 * 24 * 3_600_000,
  /** Kubernetes' limit on all annotations of one object together (keys and values, in bytes). */
  annotationsMaxBytes: 256 * 1024,
  /** Kubernetes label values and the name part of qualified keys. */
  labelValueMaxLength: 63,
  qualifiedNameMaxLength: 63,
  /** The optional DNS-subdomain prefix of a qualified key (`example.com/key`). */
  keyPrefixMaxLength: 253,
  /** Labels or annotations on one object. */
  maxLabels: 64,
  maxAnnotations: 64,
  /**
   * One argv element or one `NAME=value` environment entry, in bytes: Linux's MAX_ARG_STRLEN (32 pages
   * of 4 KiB) less the terminating NUL. Longer ones make execve fail with E2BIG.
   */
  execArgMaxBytes: 32 * 4096 - 1,
  /**
   * argv and environment of one process together, in bytes. Linux allows a quarter of the stack limit
   * (2 MiB with the usual 8 MiB); half of that leaves room for the sandbox's own environment.
   */
  execArgvEnvMaxBytes: 1024 * 1024,
  /** `credentials` entries of one template or sandbox (the merged chain may hold more, see below). */
  credentialsMax: 16,
  /** `credentials` after a template chain and the sandbox are appended together. */
  credentialsMergedMax: 32,
  /** Keys of one secret. */
  secretKeysMax: 64,
  /** One secret's values together, in bytes (one value must also fit one environment entry). */
  secretMaxBytes: 256 * 1024,
  /** Secrets one user may keep (all namespaces together). */
  secretsPerUserMax: 200,
} as const;

/**
 * Workspace mount paths that are refused. A volume mounted over a system directory either fails to
 * start (`/proc`) or silently replaces it with a writable copy (`/etc`, `/usr`: the sandbox could then
 * rewrite its own binaries and configuration), and one over the platform's own mounts breaks sandboxd.
 * `exact` are refused only as themselves (their subdirectories are fine, e.g. `/var/lib/app`); `tree`
 * are refused together with everything below them.
 */
export const MOUNT_PATH_DENY = {
  exact: ['/', '/opt', '/var'],
  tree: [
    '/bin',
    '/boot',
    '/dev',
    '/etc',
    '/lib',
    '/lib32',
    '/lib64',
    '/libx32',
    '/opt/agenttier',
    '/proc',
    '/run',
    '/sbin',
    '/sys',
    '/tmp',
    '/usr',
    '/var/run',
  ],
} as const;

/**
 * An absolute, clean path: components of letters, digits, ".", "_" and "-", none of them "." or "..",
 * no empty components and no trailing slash. RE2-compatible (no lookahead), so the CRD can use it.
 */
export const CLEAN_ABSOLUTE_PATH_PATTERN =
  '^(/([A-Za-z0-9_-][A-Za-z0-9._-]*|\\.[A-Za-z0-9_-][A-Za-z0-9._-]*|\\.\\.[A-Za-z0-9._-]+))+$';

/** Why a workspace mount path is refused, or undefined when it is fine. */
export function mountPathProblem(path: string): string | undefined {
  if (path.length > 256) return 'must be at most 256 characters';
  if (path === '/') return 'must not be "/" (the root filesystem)';
  if (!new RegExp(CLEAN_ABSOLUTE_PATH_PATTERN).test(path)) {
    return 'must be a clean absolute path ("/workspace", "/home/user/work"): letters, digits, ".", "_", "-", no "." or ".." parts, no "//" or trailing "/"';
  }
  if ((MOUNT_PATH_DENY.exact as readonly string[]).includes(path)) {
    return `must not be ${path}: mounting the workspace there would hide the system directories below it`;
  }
  const tree = MOUNT_PATH_DENY.tree.find((p) => path === p || path.startsWith(`${p}/`));
  if (tree) {
    return `must not be ${tree} or below it: it is a system or platform directory (see docs/api.md, "Limits")`;
  }
  return undefined;
}

/** The CEL rule equivalent to mountPathProblem's denylist, for the CRD (the pattern covers the rest). */
export function mountPathCelRule(subject = 'self'): string {
  const exact = MOUNT_PATH_DENY.exact.map((p) => `'${p}'`).join(', ');
  const tree = MOUNT_PATH_DENY.tree.map((p) => `'${p}'`).join(', ');
  return `!(${subject} in [${exact}]) && ![${tree}].exists(p, ${subject} == p || ${subject}.startsWith(p + '/'))`;
}

const DNS_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_RE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;

/** Kubernetes' rule for label and annotation keys: `[prefix/]name`. Undefined when the key is fine. */
export function qualifiedKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    if (prefix.length === 0 || prefix.length > LIMITS.keyPrefixMaxLength || !DNS_SUBDOMAIN_RE.test(prefix)) {
      return `key "${truncate(key)}": the prefix before "/" must be a lowercase DNS subdomain of at most ${LIMITS.keyPrefixMaxLength} characters`;
    }
  }
  if (name.length === 0 || name.length > LIMITS.qualifiedNameMaxLength || !QUALIFIED_NAME_RE.test(name)) {
    return `key "${truncate(key)}" must be a qualified name: at most ${LIMITS.qualifiedNameMaxLength} characters of letters, digits, "-", "_" and ".", starting and ending with a letter or digit, with an optional "prefix/"`;
  }
  return undefined;
}

const LABEL_VALUE_RE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Kubernetes' rule for label values. Undefined when the value is fine. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length > LIMITS.labelValueMaxLength || !LABEL_VALUE_RE.test(value)) {
    return `value "${truncate(value)}" must be at most ${LIMITS.labelValueMaxLength} characters of letters, digits, "-", "_" and ".", starting and ending with a letter or digit (or empty)`;
  }
  return undefined;
}

/** UTF-8 size of a string, in bytes (what the kernel counts for argv and the environment). */
export function utf8Bytes(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      bytes += 4; // a surrogate pair is one 4-byte character
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function truncate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
