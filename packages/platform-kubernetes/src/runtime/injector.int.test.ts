// The sandboxd-injector's copy (images/sandboxd-injector/inject.sh) as a kubelet runs it: a non-root
// user (uid 1000) copying into an emptyDir that root owns. Runs the script in a throwaway container
// on the project's Docker engine (debian:bookworm-slim, which scripts/images.sh builds everything on).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const DOCKER_HOST = process.env.AGENTTIER_DOCKER_HOST ?? 'unix:///run/agenttier/docker.sock';
const SCRIPT = join(import.meta.dirname, '../../../../images/sandboxd-injector/inject.sh');
const NAME = `agenttier-inject-test-${randomBytes(4).toString('hex')}`;

// As root: the image's /agenttier (a fixture with the three files the script checks) and an
// emptyDir-like target owned by root, world-writable like the kubelet's; then the script as 1000.
const SETUP = [
  'set -eu',
  'mkdir -p /agenttier/node/bin /agenttier/bin /agenttier/sandboxd/node_modules',
  'printf "#!/bin/sh\\n" > /agenttier/node/bin/node && cp /agenttier/node/bin/node /agenttier/bin/tini',
  'chmod 0755 /agenttier/node/bin/node /agenttier/bin/tini',
  'echo "// sandboxd" > /agenttier/sandboxd/sandboxd.mjs && ln -s sandboxd.mjs /agenttier/sandboxd/link.mjs',
  'touch -d 2020-01-02T03:04:05Z /agenttier/sandboxd/sandboxd.mjs',
  'chmod -R a+rX /agenttier',
  'mkdir -p /target && chmod 0777 /target',
  'setpriv --reuid=1000 --regid=1000 --clear-groups sh /inject.sh /target',
  'stat -c "%a %u %Y %N" /target/node/bin/node /target/sandboxd/sandboxd.mjs /target/sandboxd/link.mjs',
].join('\n');

// Pod Security baseline: the injector runs as root without any capability (the bounding set emptied
// before exec) and copies the token from a Secret volume as the kubelet makes it with fsGroup 1000
// (root:1000, 0440) into a memory emptyDir set up the same way (root:1000, setgid, 0777).
const TOKEN_SETUP = [
  'set -eu',
  'mkdir -p /agenttier/node/bin /agenttier/bin /agenttier/sandboxd',
  'printf "#!/bin/sh\n" > /agenttier/node/bin/node && cp /agenttier/node/bin/node /agenttier/bin/tini',
  'echo "// sandboxd" > /agenttier/sandboxd/sandboxd.mjs && chmod -R a+rX /agenttier',
  'chmod 0755 /agenttier/node/bin/node /agenttier/bin/tini',
  'mkdir -p /target /secret /copy && chmod 0777 /target && chgrp 1000 /copy && chmod 2777 /copy',
  'printf s3cr3t-token-0123456789abcdef > /secret/token && chgrp 1000 /secret/token && chmod 0440 /secret/token',
  'asroot() { setpriv --bounding-set=-all --inh-caps=-all "$@"; }',
  // Without agenttier-launch in the bundle the baseline pod cannot start: say so.
  'asroot sh /inject.sh /target --token /secret/token /copy/token 2>&1 && echo "no launch: copied" || echo "no launch: refused"',
  'test ! -e /copy/token && echo "no copy without launch"',
  'printf "#!/bin/sh\n" > /agenttier/sandboxd/agenttier-launch && chmod 0755 /agenttier/sandboxd/agenttier-launch',
  // As uid 1000 it refuses to make a copy it could not make root-only.
  'setpriv --reuid=1000 --regid=1000 --clear-groups sh /inject.sh /target --token /secret/token /copy/token 2>&1 || echo "uid 1000: refused"',
  'rm -rf /target/* && asroot sh /inject.sh /target --token /secret/token /copy/token',
  'asroot grep CapEff /proc/self/status | tr -d "\t"',
  'stat -c "copy %a %u %g" /copy/token',
  'setpriv --reuid=1000 --regid=1000 --groups=1000 cat /copy/token 2>/dev/null && echo "uid 1000: read" || echo "uid 1000: unreadable"',
  'asroot cat /copy/token && echo',
  'sh /inject.sh /target --token /secret/token 2>&1 || echo "bad arguments: refused"',
].join('\n');

/** Runs `script` with sh in a throwaway container `name` (no network, inject.sh at /inject.sh); its stdout. */
async function inContainer(name: string, script: string): Promise<string> {
  const { stdout } = await run('docker', [
    '-H',
    DOCKER_HOST,
    'run',
    '--name',
    name,
    '--network',
    'none',
    '-v',
    `${SCRIPT}:/inject.sh:ro`,
    'debian:bookworm-slim',
    'sh',
    '-c',
    script,
  ]);
  return stdout;
}

describe('sandboxd-injector copy into a root-owned emptyDir as uid 1000', () => {
  afterAll(async () => {
    await run('docker', ['-H', DOCKER_HOST, 'rm', '-f', NAME, `${NAME}-token`]).catch(() => undefined);
  });

  it('baseline: as root without capabilities, copies the token root-only (0400) where uid 1000 cannot read it', async () => {
    const stdout = await inContainer(`${NAME}-token`, TOKEN_SETUP);
    const lines = stdout.trim().split('\n');
    expect(lines).toContain('no launch: refused');
    expect(stdout).toContain('the bundle has no agenttier-launch');
    expect(lines).toContain('no copy without launch');
    expect(stdout).toContain('--token must run as root');
    expect(lines).toContain('uid 1000: refused');
    expect(lines).toContain('sandboxd token copied to /copy/token (root, 0400)');
    expect(lines).toContain('CapEff:0000000000000000');
    // The copy is root's and 0400 (group 1000 from the setgid directory, with no permission).
    expect(lines).toContain('copy 400 0 1000');
    expect(lines).toContain('uid 1000: unreadable');
    expect(lines).toContain('s3cr3t-token-0123456789abcdef');
    expect(lines).toContain('bad arguments: refused');
  });

  it('copies sandboxd, Node and tini with modes, times and symlinks kept', async () => {
    const stdout = await inContainer(NAME, SETUP);
    const lines = stdout.trim().split('\n');
    expect(lines).toContain('sandboxd injected into /target');
    const [node, mjs, link] = lines.slice(-3);
    expect(node).toMatch(/^755 1000 \d+ '\/target\/node\/bin\/node'$/);
    // 2020-01-02T03:04:05Z: the file's own time survives the copy
    expect(mjs).toMatch(/^644 1000 1577934245 /);
    expect(link).toContain("'/target/sandboxd/link.mjs' -> 'sandboxd.mjs'");
  });
});
