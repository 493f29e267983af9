/**
 * Attack: a replaced daemon's error code and message. The code indexes the router's tables (a code
 * of `__proto__` reached Object.prototype: a 500 outside the error shape) and the message reaches
 * clients and the CLI's terminal (escape sequences, megabytes).
 */
import { describe, expect, it } from 'vitest';
import { DAEMON_MESSAGE_MAX_CHARS, daemonError, daemonMessage } from './errors.ts';

describe("a daemon's error, as the client passes it on", () => {
  it.each(['__proto__', 'constructor', 'hasOwnProperty', 'unreachable', 'no_such_code', 7, null])(
    'code %s, not one the daemon may send, is bad_answer with words of our own',
    (code) => {
      const err = daemonError(code, 'pwned');
      expect(err.code).toBe('bad_answer');
      expect(err.status).toBe(502);
      expect(err.message).not.toContain('pwned');
    },
  );

  it('a catalogued code keeps its code and a cleaned message', () => {
    const err = daemonError('not_found', '\u001b[2J\u001b]0;title\u0007gone\u202e\r\n');
    expect(err.code).toBe('not_found');
    expect(err.message).toBe(' [2J ]0;title gone   ');
  });

  it('a long message is capped; a message that is not a string is replaced', () => {
    expect(daemonMessage('M'.repeat(4 * 1024 * 1024), 'x')).toHaveLength(DAEMON_MESSAGE_MAX_CHARS + 1);
    expect(daemonMessage({ toString: 'x' }, 'fallback')).toBe('fallback');
  });
});
