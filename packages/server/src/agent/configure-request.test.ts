import { describe, expect, it } from 'vitest';
import { PlatformError, isPlatformError } from '@agenttier/contract';
import { MAX_CONFIGURE_FILES } from '@agenttier/contract';
import { configureHash, parseConfigureRequest } from './configure-request.ts';

/** The router's confinement, reduced: absolute, under /workspace or /tmp, no `..`. */
const confine = (path: string) => {
  if (!/^\/(workspace|tmp)(\/|$)/.test(path) || path.split('/').includes('..')) {
    throw new PlatformError('FORBIDDEN', `path ${path} is outside the sandbox's file roots`);
  }
  return path;
};

const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return isPlatformError(err) ? err.code : String(err);
  }
};

describe('parseConfigureRequest', () => {
  it('decodes content and contentBase64 and parses octal modes', () => {
    const { files } = parseConfigureRequest(
      {
        files: [
          { path: '/workspace/a.py', content: 'print(1)\n' },
          {
            path: '/workspace/b.bin',
            contentBase64: Buffer.from([0, 1, 2]).toString('base64'),
            mode: '0755',
          },
        ],
        entrypoint: ['python', '/workspace/a.py'],
      },
      confine,
    );
    expect(files).toEqual([
      { path: '/workspace/a.py', bytes: Buffer.from('print(1)\n') },
      { path: '/workspace/b.bin', bytes: Buffer.from([0, 1, 2]), mode: 0o755 },
    ]);
  });

  it('takes argv arrays as they are and runs a command string through /bin/sh -c', () => {
    expect(
      parseConfigureRequest({ installCommand: ['pip', 'install', 'x'] }, confine).req.installCommand,
    ).toEqual(['pip', 'install', 'x']);
    const { req } = parseConfigureRequest(
      { installCommand: 'pip install -r requirements.txt && echo ok', entrypoint: 'python agent.py' },
      confine,
    );
    expect(req.installCommand).toEqual(['/bin/sh', '-c', 'pip install -r requirements.txt && echo ok']);
    expect(req.entrypoint).toEqual(['/bin/sh', '-c', 'python agent.py']);
  });

  it.each([
    ['an empty body', {}, 'VALIDATION_FAILED'],
    ['an empty argv', { entrypoint: [] }, 'VALIDATION_FAILED'],
    ['a blank command string', { entrypoint: '   ' }, 'VALIDATION_FAILED'],
    [
      'both content forms',
      { files: [{ path: '/workspace/a', content: 'x', contentBase64: 'eA==' }] },
      'VALIDATION_FAILED',
    ],
    ['neither content form', { files: [{ path: '/workspace/a' }] }, 'VALIDATION_FAILED'],
    ['invalid base64', { files: [{ path: '/workspace/a', contentBase64: '!!!' }] }, 'VALIDATION_FAILED'],
    ['a path outside the roots', { files: [{ path: '/etc/passwd', content: 'x' }] }, 'FORBIDDEN'],
    ['a path climbing out', { files: [{ path: '/workspace/../etc/x', content: 'x' }] }, 'FORBIDDEN'],
    [
      'too many files',
      {
        files: Array.from({ length: MAX_CONFIGURE_FILES + 1 }, (_, i) => ({
          path: `/workspace/${i}`,
          content: '',
        })),
      },
      'VALIDATION_FAILED',
    ],
    ['a non-octal mode', { files: [{ path: '/workspace/a', content: 'x', mode: '9' }] }, 'VALIDATION_FAILED'],
  ])('refuses %s', (_what, body, code) => {
    expect(codeOf(() => parseConfigureRequest(body, confine))).toBe(code);
  });

  it('refuses a file over 32 MiB with PAYLOAD_TOO_LARGE (413), not a validation error', () => {
    const big = 'x'.repeat(32 * 1024 * 1024 + 1);
    expect(
      codeOf(() => parseConfigureRequest({ files: [{ path: '/workspace/big', content: big }] }, confine)),
    ).toBe('PAYLOAD_TOO_LARGE');
  });
});

describe('configureHash', () => {
  const file = (path: string, text: string) => ({ path, bytes: Buffer.from(text) });

  it('is stable under file order and changes with any file byte or install argv', () => {
    const a = configureHash(['pip', 'install'], [file('/workspace/a', '1'), file('/workspace/b', '2')]);
    expect(configureHash(['pip', 'install'], [file('/workspace/b', '2'), file('/workspace/a', '1')])).toBe(a);
    expect(
      configureHash(['pip', 'install'], [file('/workspace/a', '1'), file('/workspace/b', '3')]),
    ).not.toBe(a);
    expect(
      configureHash(['pip', 'install', '-U'], [file('/workspace/a', '1'), file('/workspace/b', '2')]),
    ).not.toBe(a);
    // Argv boundaries count: ["a b"] is not ["a", "b"].
    expect(configureHash(['a b'], [])).not.toBe(configureHash(['a', 'b'], []));
  });
});
