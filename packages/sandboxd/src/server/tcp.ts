import { connect } from 'node:net';
import type { Socket } from 'node:net';

import { SandboxdError } from '../errors.ts';

function dial(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, allowHalfOpen: true, noDelay: true });
    const timer = setTimeout(
      () => s.destroy(Object.assign(new Error('ETIMEDOUT'), { code: 'ETIMEDOUT' })),
      timeoutMs,
    );
    s.once('connect', () => {
      clearTimeout(timer);
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Connects to a port on the sandbox's loopback (127.0.0.1, then ::1 for IPv6-only listeners). */
export async function connectLoopback(port: number, timeoutMs = 5000): Promise<Socket> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new SandboxdError('invalid_argument', `invalid port: ${port}`);
  }
  try {
    return await dial('127.0.0.1', port, timeoutMs);
  } catch (err4) {
    try {
      return await dial('::1', port, timeoutMs);
    } catch {
      const code = (err4 as NodeJS.ErrnoException).code ?? 'error';
      throw new SandboxdError(
        'connect_failed',
        `cannot connect to port ${port} inside the sandbox: ${code}`,
        {
          details: { port, errno: code },
        },
      );
    }
  }
}
