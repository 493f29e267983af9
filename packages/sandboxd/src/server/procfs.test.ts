import { describe, expect, it } from 'vitest';

import { parseProcNetTcp, parseProcStat } from './procfs.ts';

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 12345 1 0000000000000000 100 0 0 10 0
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 222 1 0000000000000000 100 0 0 10 0
   2: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 333 1 0000000000000000 20 4 30 10 -1
`;

const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:0BB8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 444 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000000000000:1F40 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 555 1 0000000000000000 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:2328 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 666 1 0000000000000000 100 0 0 10 0
`;

describe('parseProcNetTcp', () => {
  it('keeps LISTEN sockets and decodes little-endian IPv4', () => {
    expect(parseProcNetTcp(TCP, 'tcp')).toEqual([
      { port: 8080, address: '127.0.0.1', family: 'tcp', inode: 12345 },
      { port: 22, address: '0.0.0.0', family: 'tcp', inode: 222 },
    ]);
  });

  it('decodes IPv6 (loopback, any, v4-mapped)', () => {
    expect(parseProcNetTcp(TCP6, 'tcp6')).toEqual([
      { port: 3000, address: '::1', family: 'tcp6', inode: 444 },
      { port: 8000, address: '::', family: 'tcp6', inode: 555 },
      { port: 9000, address: '::ffff:127.0.0.1', family: 'tcp6', inode: 666 },
    ]);
  });
});

describe('parseProcStat', () => {
  it('handles command names with spaces and parentheses', () => {
    expect(parseProcStat('42 (my (weird) cmd) S 1 42 40 0 -1 4194560 ...')).toEqual({
      pid: 42,
      ppid: 1,
      pgrp: 42,
      session: 40,
    });
  });
});
