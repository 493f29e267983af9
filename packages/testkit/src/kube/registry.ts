// Which resources are served at which group/version, for routing and discovery. CRDs add and
// remove entries at runtime (crd.ts), once Established.
import type { ResourceType } from './resource-type.ts';

export class Registry {
  private readonly types = new Map<string, ResourceType>();

  private id(t: Pick<ResourceType, 'group' | 'plural'>): string {
    return `${t.group}/${t.plural}`;
  }

  set(t: ResourceType): void {
    this.types.set(this.id(t), t);
  }

  remove(group: string, plural: string): void {
    this.types.delete(this.id({ group, plural }));
  }

  get(group: string, plural: string): ResourceType | undefined {
    return this.types.get(this.id({ group, plural }));
  }

  /** The type served at group/version/plural, if that version is served. */
  lookup(group: string, version: string, plural: string): ResourceType | undefined {
    const t = this.get(group, plural);
    return t && t.versions.includes(version) ? t : undefined;
  }

  all(): ResourceType[] {
    return [...this.types.values()];
  }

  byStorageKey(key: string): ResourceType[] {
    return this.all().filter((t) => t.storageKey === key);
  }

  /** group → served versions (preferred first), core group as ''. */
  groupVersions(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const t of this.types.values()) {
      const vs = out.get(t.group) ?? [];
      for (const v of t.versions) if (!vs.includes(v)) vs.push(v);
      out.set(t.group, vs);
    }
    for (const [g, vs] of out) out.set(g, vs.sort(compareKubeVersions));
    return out;
  }

  typesIn(group: string, version: string): ResourceType[] {
    return this.all().filter((t) => t.group === group && t.versions.includes(version));
  }

  byKind(group: string, kind: string): ResourceType | undefined {
    return this.all().find((t) => t.group === group && t.kind === kind);
  }
}

const KUBE_VERSION = /^v(\d+)(?:(alpha|beta)(\d+))?$/;

/** Kubernetes version priority: GA > beta > alpha, higher numbers first, others lexically last. */
export function compareKubeVersions(a: string, b: string): number {
  const ma = KUBE_VERSION.exec(a);
  const mb = KUBE_VERSION.exec(b);
  if (!ma || !mb) {
    if (ma) return -1;
    if (mb) return 1;
    return a.localeCompare(b);
  }
  const rank = (m: RegExpExecArray) => (m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1);
  if (rank(ma) !== rank(mb)) return rank(mb) - rank(ma);
  if (Number(ma[1]) !== Number(mb[1])) return Number(mb[1]) - Number(ma[1]);
  return Number(mb[3] ?? 0) - Number(ma[3] ?? 0);
}
