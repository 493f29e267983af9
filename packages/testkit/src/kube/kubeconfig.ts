// The kubeconfig file the fake hands out, and a self-signed certificate for the HTTPS mode.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

export interface KubeconfigParams {
  server: string;
  token?: string;
  /** PEM of the server certificate when serving HTTPS. */
  caPem?: string;
  namespace?: string;
}

export function kubeconfigYaml(p: KubeconfigParams): string {
  const cluster: Record<string, unknown> = { server: p.server };
  // client-node refuses http:// servers unless skipTLSVerify is set (see kubernetes-testing.md §1.2).
  if (p.caPem) cluster['certificate-authority-data'] = Buffer.from(p.caPem).toString('base64');
  else cluster['insecure-skip-tls-verify'] = true;
  const user: Record<string, unknown> = p.token ? { token: p.token } : {};
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'fake', cluster }],
    users: [{ name: 'fake-admin', user }],
    contexts: [
      { name: 'fake', context: { cluster: 'fake', user: 'fake-admin', namespace: p.namespace ?? 'default' } },
    ],
    'current-context': 'fake',
  });
}

let cached: { key: string; cert: string } | undefined;

/**
 * A certificate for 127.0.0.1/localhost made with the openssl CLI (node:crypto cannot sign X.509),
 * made once per process.
 */
export function selfSignedCert(dir: string): { key: string; cert: string } {
  if (cached) return cached;
  const keyPath = join(dir, 'server.key');
  const certPath = join(dir, 'server.crt');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '2',
      '-subj',
      '/CN=fake-kube-apiserver',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  cached = { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8') };
  return cached;
}

export function writeKubeconfig(dir: string, p: KubeconfigParams): string {
  const path = join(dir, 'kubeconfig');
  writeFileSync(path, kubeconfigYaml(p), { mode: 0o600 });
  return path;
}
