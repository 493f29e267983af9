import { describe, expect, it } from 'vitest';
import { LABEL_HOST_DATA_ROOT, hostPathMapping } from './engine-host-paths.ts';

const own = hostPathMapping({
  DockerRootDir: '/engine',
  Labels: ['other=x', `${LABEL_HOST_DATA_ROOT}=/var/lib/agenttier/docker`],
});

describe('hostPathMapping', () => {
  it('moves paths under the engine data root to the label path', () => {
    expect(own('/engine/volumes/v/_data')).toBe('/var/lib/agenttier/docker/volumes/v/_data');
    expect(own('/engine')).toBe('/var/lib/agenttier/docker');
  });

  it('leaves every other path alone: host binds, look-alike prefixes, escapes, relative paths', () => {
    expect(own('/tmp/data/workspaces/mounts/u1')).toBe('/tmp/data/workspaces/mounts/u1');
    expect(own('/engine-other/volumes/v')).toBe('/engine-other/volumes/v');
    expect(own('/engine/../etc/shadow')).toBe('/engine/../etc/shadow');
    expect(own('engine/volumes/v')).toBe('engine/volumes/v');
  });

  it('is the identity without the label, with a relative label or without a data root', () => {
    const paths = ['/var/lib/docker/volumes/v/_data', '/engine/volumes/v/_data'];
    for (const info of [
      { DockerRootDir: '/var/lib/docker', Labels: [] },
      { DockerRootDir: '/engine', Labels: [`${LABEL_HOST_DATA_ROOT}=relative/dir`] },
      { Labels: [`${LABEL_HOST_DATA_ROOT}=/var/lib/agenttier/docker`] },
      {},
    ]) {
      const map = hostPathMapping(info);
      for (const p of paths) expect(map(p)).toBe(p);
    }
  });
});
