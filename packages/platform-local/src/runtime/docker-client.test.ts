import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PRIVATE_ENGINE_SOCKET, defaultDockerHost, isNameConflict } from './docker-client.ts';

describe('defaultDockerHost', () => {
  it('prefers AGENTTIER_DOCKER_HOST, then DOCKER_HOST', () => {
    expect(defaultDockerHost({ AGENTTIER_DOCKER_HOST: 'unix:///a.sock', DOCKER_HOST: 'tcp://b:2375' })).toBe(
      'unix:///a.sock',
    );
    expect(defaultDockerHost({ DOCKER_HOST: 'tcp://b:2375' })).toBe('tcp://b:2375');
  });

  it('finds the private engine that scripts/engine.sh starts, else the system socket', () => {
    const expected = existsSync(PRIVATE_ENGINE_SOCKET)
      ? `unix://${PRIVATE_ENGINE_SOCKET}`
      : 'unix:///var/run/docker.sock';
    expect(defaultDockerHost({})).toBe(expected);
  });
});

describe('isNameConflict', () => {
  it("recognises Docker's 409 and Podman's 500 'already in use'", () => {
    expect(isNameConflict({ statusCode: 409 })).toBe(true);
    expect(isNameConflict(Object.assign(new Error('name "x" is already in use'), { statusCode: 500 }))).toBe(
      true,
    );
    expect(isNameConflict({ statusCode: 500, message: 'boom' })).toBe(false);
  });
});
