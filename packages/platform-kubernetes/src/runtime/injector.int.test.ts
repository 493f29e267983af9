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

describe('sandboxd-injector copy into a root-owned emptyDir as uid 1000', () => {
  afterAll(async () => {
    await run('docker', ['-H', DOCKER_HOST, 'rm', '-f', NAME]).catch(() => undefined);
  });

  it('copies sandboxd, Node and tini with modes, times and symlinks kept', async () => {
    const { stdout } = await run('docker', [
      '-H',
      DOCKER_HOST,
      'run',
      '--name',
      NAME,
      '--network',
      'none',
      '-v',
      `${SCRIPT}:/inject.sh:ro`,
      'debian:bookworm-slim',
      'sh',
      '-c',
      SETUP,
    ]);
    const lines = stdout.trim().split('\n');
    expect(lines).toContain('sandboxd injected into /target');
    const [node, mjs, link] = lines.slice(-3);
    expect(node).toMatch(/^755 1000 \d+ '\/target\/node\/bin\/node'$/);
    // 2020-01-02T03:04:05Z: the file's own time survives the copy
    expect(mjs).toMatch(/^644 1000 1577934245 /);
    expect(link).toContain("'/target/sandboxd/link.mjs' -> 'sandboxd.mjs'");
  });
});
