import type { CredentialRef, Sandbox } from '@agenttier/contract';
import { LIMITS } from '@agenttier/contract';
import type { ContainerCreateOptions } from 'dockerode';
import tar from 'tar-stream';
import { SANDBOX_UID } from './container-spec.ts';
import { tmpfsVolumeOptions } from './tmpfs-volume.ts';

/** Finds a secret's values by owner, namespace and name (the server's per-user secret store). */
export type SecretResolver = (
  owner: string,
  namespace: string,
  name: string,
) => Promise<Map<string, Uint8Array> | undefined>;

/**
 * Container label listing the file credentials (secret name and directory, never a value), so the
 * runtime can deliver them again after a router restart from what the engine remembers.
 */
export const LABEL_CREDENTIAL_FILES = 'agenttier.io/credential-files';

export interface CredentialFile {
  secretName: string;
  mountPath: string;
}

export function fileCredentials(credentials: readonly CredentialRef[]): CredentialFile[] {
  return credentials
    .filter((c) => (c.mountAs ?? 'env') === 'file' && c.mountPath)
    .map((c) => ({ secretName: c.secretName, mountPath: c.mountPath! }));
}

export function credentialFilesOf(labels: Record<string, string> | undefined): CredentialFile[] {
  const raw = labels?.[LABEL_CREDENTIAL_FILES];
  if (!raw) return [];
  try {
    const list = JSON.parse(raw) as CredentialFile[];
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}

/** Room for one secret's files on its tmpfs (the values' cap, plus slack for the file system). */
const CREDENTIAL_VOLUME_BYTES = LIMITS.secretMaxBytes * 2;

/**
 * One tmpfs-backed anonymous volume per file credential, at its directory: in memory only (never on a
 * disk, gone with the container), root-owned and mode 0555, so the sandbox user can read the files
 * it is given and can neither add, replace nor link anything there. The files arrive after the start
 * through the engine (deliverCredentialFiles), written by the engine as root into that directory.
 */
export function credentialMounts(
  files: readonly CredentialFile[],
): NonNullable<NonNullable<ContainerCreateOptions['HostConfig']>['Mounts']> {
  return files.map((f) => ({
    Type: 'volume' as const,
    Source: '',
    Target: f.mountPath,
    VolumeOptions: tmpfsVolumeOptions({
      sizeBytes: CREDENTIAL_VOLUME_BYTES,
      maxInodes: LIMITS.secretKeysMax + 16,
      mode: '0555',
      uid: 0,
      gid: 0,
    }),
  }));
}

/** A tar of one file per key, mode 0400, owned by the sandbox user (what putArchive extracts as is). */
export async function credentialTar(values: ReadonlyMap<string, Uint8Array>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  const mtime = new Date(0);
  for (const [key, value] of [...values].sort(([a], [b]) => a.localeCompare(b))) {
    pack.entry(
      { name: key, mode: 0o400, uid: SANDBOX_UID, gid: SANDBOX_UID, mtime, type: 'file' },
      Buffer.from(value),
    );
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** The owner whose secrets a sandbox may be given: who created it through the router, else nobody. */
export function credentialOwner(sandbox: Sandbox): string | undefined {
  return sandbox.spec.createdBy?.sub;
}
