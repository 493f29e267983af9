import { describe, expect, expectTypeOf, it } from 'vitest';
import type { CommandSpec, HandlerInput, HandlersOf, InputOf, LeafPaths } from './spec.ts';
import { buildCommand } from './spec.ts';

const noun = {
  name: 'thing',
  description: 'a noun with every kind of argument and option',
  subcommands: [
    {
      name: 'make',
      description: 'leaf',
      arguments: [
        { name: 'name', description: 'required', required: true },
        { name: 'path', description: 'optional' },
      ],
      options: [
        { flags: '-t, --template <name>', description: 'required value', required: true },
        { flags: '--wait-timeout <duration>', description: 'defaulted', default: '5m' },
        { flags: '--mode <mode>', description: 'one of', choices: ['code', 'agent'] },
        { flags: '-e, --env <KEY=VALUE>', description: 'repeatable', repeatable: true },
        {
          flags: '--cap <name>',
          description: 'repeatable, one of',
          repeatable: true,
          choices: ['net', 'fs'],
        },
        { flags: '--no-wait', description: 'negated' },
        { flags: '-f, --force', description: 'plain flag' },
      ],
    },
    {
      name: 'files',
      description: 'group',
      subcommands: [
        {
          name: 'rm',
          description: 'leaf with a variadic argument',
          arguments: [{ name: 'paths', description: 'variadic', required: true, variadic: true }],
        },
      ],
    },
  ],
} as const satisfies CommandSpec;

/** Parses argv with the spec, as the CLI does, and returns what the handler at `path` got. */
async function parsed(argv: string[]): Promise<HandlerInput> {
  let got: HandlerInput | undefined;
  const record = async (_client: unknown, input: HandlerInput) => ((got = input), 0);
  const cmd = buildCommand(
    noun,
    { make: record, 'files rm': record },
    {
      invoke: async (_path, handler, input) => void (await handler(undefined as never, input)),
      configure: (c) => void c.exitOverride(),
    },
  );
  await cmd.parseAsync(argv, { from: 'user' });
  return got!;
}

describe('handler input typed from the spec', () => {
  it('types each leaf command’s arguments and options as the parser fills them', async () => {
    expectTypeOf<LeafPaths<typeof noun>>().toEqualTypeOf<'make' | 'files rm'>();
    type Make = InputOf<typeof noun, 'make'>;
    expectTypeOf<Make['args']>().toEqualTypeOf<[string, string | undefined]>();
    expectTypeOf<Make['opts']['template']>().toEqualTypeOf<string>();
    expectTypeOf<Make['opts']['waitTimeout']>().toEqualTypeOf<string>();
    expectTypeOf<Make['opts']['mode']>().toEqualTypeOf<'code' | 'agent' | undefined>();
    expectTypeOf<Make['opts']['env']>().toEqualTypeOf<string[] | undefined>();
    expectTypeOf<Make['opts']['wait']>().toEqualTypeOf<boolean>();
    expectTypeOf<Make['opts']['force']>().toEqualTypeOf<boolean | undefined>();
    expectTypeOf<InputOf<typeof noun, 'files rm'>['args']>().toEqualTypeOf<[string[]]>();
    expectTypeOf<HandlersOf<typeof noun>>().toHaveProperty('files rm');

    const bare = await parsed(['make', 'demo', '-t', 'minimal-shell']);
    expect(bare.args).toEqual(['demo', undefined]);
    expect(bare.opts).toMatchObject({ template: 'minimal-shell', waitTimeout: '5m', wait: true });
    expect(bare.opts.force).toBeUndefined();
    expect(bare.opts.env).toBeUndefined();
    expect(bare.opts.mode).toBeUndefined();

    const full = await parsed([
      'make',
      'demo',
      '/w',
      '-t',
      'x',
      '--mode',
      'agent',
      '-e',
      'A=1',
      '-e',
      'B=2',
      '--no-wait',
      '-f',
      '--wait-timeout',
      '1m',
    ]);
    expect(full.args).toEqual(['demo', '/w']);
    expect(full.opts).toMatchObject({
      template: 'x',
      mode: 'agent',
      env: ['A=1', 'B=2'],
      wait: false,
      force: true,
      waitTimeout: '1m',
    });
    expect((await parsed(['files', 'rm', 'a', 'b'])).args).toEqual([['a', 'b']]);
  });

  it('checks the choices of a repeatable option (its collecting parser replaces commander’s check)', async () => {
    expect((await parsed(['make', 'x', '-t', 'm', '--cap', 'net', '--cap', 'fs'])).opts.cap).toEqual([
      'net',
      'fs',
    ]);
    await expect(parsed(['make', 'x', '-t', 'm', '--cap', 'net', '--cap', 'root'])).rejects.toThrow(
      /Allowed choices are net, fs/,
    );
  });
});
