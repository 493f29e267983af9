import { describe, expect, it } from 'vitest';
import { joinArgs, splitArgs } from './split-args.ts';

describe('splitArgs', () => {
  it('splits like a shell without expanding anything', () => {
    expect(splitArgs('python3  /workspace/agent.py --flag')).toEqual([
      'python3',
      '/workspace/agent.py',
      '--flag',
    ]);
    expect(splitArgs(`sh -c 'echo "$HOME" && ls'`)).toEqual(['sh', '-c', 'echo "$HOME" && ls']);
    expect(splitArgs('echo "a b" c\\ d "q\\"x"')).toEqual(['echo', 'a b', 'c d', 'q"x']);
    expect(splitArgs(`x '' ""`)).toEqual(['x', '', '']);
    expect(splitArgs('   ')).toEqual([]);
  });

  it('refuses an unbalanced quote with what to do', () => {
    expect(() => splitArgs(`echo 'oops`)).toThrow("unbalanced ' quote: close it or remove it");
  });

  it('joins back to the same argv', () => {
    for (const argv of [
      ['pip', 'install', '-r', 'req.txt'],
      ['sh', '-c', "it's $x"],
      ['a b', ''],
    ]) {
      expect(splitArgs(joinArgs(argv))).toEqual(argv);
    }
  });
});
