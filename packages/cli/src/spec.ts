import { Command, InvalidArgumentError, Option } from 'commander';
import type { Client } from './context.ts';

/** A command's declarative description: it feeds the parser and the help text. */
export interface OptionSpec {
  /** Commander flags, e.g. `-t, --template <name>` or `--no-wait`. */
  flags: string;
  description: string;
  default?: string | boolean | string[];
  choices?: readonly string[];
  /** Collects every occurrence into an array (`--env A=1 --env B=2`). */
  repeatable?: boolean;
  /** The option must be given. */
  required?: boolean;
}

export interface ArgumentSpec {
  name: string;
  description: string;
  required?: boolean;
  variadic?: boolean;
}

export interface ExampleSpec {
  description: string;
  command: string;
}

export interface CommandSpec {
  name: string;
  aliases?: readonly string[];
  description: string;
  arguments?: readonly ArgumentSpec[];
  options?: readonly OptionSpec[];
  examples?: readonly ExampleSpec[];
  subcommands?: readonly CommandSpec[];
}

export interface HandlerInput {
  /** Positional arguments in declaration order (variadic ones are arrays). */
  args: unknown[];
  /** This command's options merged with the global ones. */
  opts: Record<string, unknown>;
}

/**
 * A command handler with its input erased, as the parser calls it: does the work, returns the exit
 * code, throws on failure. Handlers are written as `HandlerOf<spec, path>`, typed from their spec.
 * (Method syntax: its parameters are compared both ways, so every typed handler fits.)
 */
export type Handler = { run(client: Client, input: HandlerInput): Promise<number> }['run'];

/** Handlers of one noun, keyed by the path below it (`create`, `files ls`); `''` for a leaf noun. */
export type HandlerMap = Record<string, Handler>;

// What commander hands a handler, derived from the `as const` spec of its command. The parser is
// told the same spec (buildCommand), so the types say what arrives: required arguments are strings,
// optional ones may be undefined, variadic ones are arrays; `--name <v>` is a string (one of its
// choices), repeatable options are arrays, `--flag` is true or absent, `--no-flag` is a boolean.

type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
type LongName<F extends string> = F extends `${string}--${infer Rest}`
  ? Rest extends `${infer Name} ${string}`
    ? Name
    : Rest
  : never;
type OptionKey<F extends string> = LongName<F> extends `no-${infer N}` ? Camel<N> : Camel<LongName<F>>;
type OptionValue<O> = O extends { repeatable: true }
  ? string[]
  : O extends { flags: `${string}<${string}` }
    ? O extends { choices: readonly (infer C)[] }
      ? C
      : string
    : O extends { flags: `${string}[${string}` }
      ? string | true
      : boolean;
type AlwaysSet<O> = O extends { default: unknown } | { required: true } | { flags: `${string}--no-${string}` }
  ? true
  : false;
type OptionsOf<S> = S extends { options: readonly (infer O)[] }
  ? {
      [
        K in O as K extends { flags: infer F extends string } ? OptionKey<F> : never
      ]: AlwaysSet<K> extends true ? OptionValue<K> : OptionValue<K> | undefined;
    }
  : object;
type ArgumentValue<A> = A extends { variadic: true }
  ? string[]
  : A extends { required: true }
    ? string
    : string | undefined;
type ArgumentsOf<S> = S extends { arguments: infer T extends readonly unknown[] }
  ? { -readonly [K in keyof T]: ArgumentValue<T[K]> }
  : [];
type ChildSpec<S, N extends string> = S extends { subcommands: readonly (infer C)[] }
  ? Extract<C, { name: N }>
  : never;
type SpecAt<S, P extends string> = P extends ''
  ? S
  : P extends `${infer Head} ${infer Rest}`
    ? SpecAt<ChildSpec<S, Head>, Rest>
    : ChildSpec<S, P>;

/** The handler keys of a noun's spec: the paths of its leaf commands below it (`''` for a leaf noun). */
export type LeafPaths<S, Prefix extends string = ''> = S extends { subcommands: readonly (infer C)[] }
  ? C extends { name: infer N extends string }
    ? LeafPaths<C, Prefix extends '' ? N : `${Prefix} ${N}`>
    : never
  : Prefix;

/** The input of the command at `path` below the noun `S` (global options stay `unknown`). */
export interface InputOf<S, P extends string = ''> {
  args: ArgumentsOf<SpecAt<S, P>>;
  opts: OptionsOf<SpecAt<S, P>> & Record<string, unknown>;
}

/** A handler typed from its spec: `HandlerOf<typeof sandboxCommand, 'files ls'>`. */
export type HandlerOf<S, P extends LeafPaths<S> = LeafPaths<S>> = (
  client: Client,
  input: InputOf<S, P>,
) => Promise<number>;

/** A noun's handlers, one per leaf command of its spec, each typed from it. */
export type HandlersOf<S> = { [P in LeafPaths<S>]: HandlerOf<S, P> };

function collectFrom(choices: readonly string[] | undefined) {
  return (value: string, previous: unknown): string[] => {
    if (choices && !choices.includes(value))
      throw new InvalidArgumentError(`Allowed choices are ${choices.join(', ')}.`);
    return [...(Array.isArray(previous) ? (previous as string[]) : []), value];
  };
}

function examplesText(examples: readonly ExampleSpec[]): string {
  const lines = ['', 'Examples:'];
  for (const ex of examples) lines.push(`  # ${ex.description}`, `  $ ${ex.command}`, '');
  return lines.join('\n');
}

export interface BuildHooks {
  /** Runs the handler for a parsed leaf command and records its exit code. */
  invoke(path: string[], handler: Handler, input: HandlerInput): Promise<void>;
  /** Applies output routing and error handling to every command. */
  configure(command: Command, path: string[]): void;
}

/** Turns a spec tree into commander commands wired to the handlers. */
export function buildCommand(
  spec: CommandSpec,
  handlers: HandlerMap,
  hooks: BuildHooks,
  parents: string[] = [],
): Command {
  const path = [...parents, spec.name];
  const cmd = new Command(spec.name).description(spec.description);
  for (const alias of spec.aliases ?? []) cmd.alias(alias);
  hooks.configure(cmd, path);
  for (const arg of spec.arguments ?? []) {
    const name = `${arg.name}${arg.variadic ? '...' : ''}`;
    cmd.argument(arg.required ? `<${name}>` : `[${name}]`, arg.description);
  }
  for (const opt of spec.options ?? []) {
    const option = new Option(opt.flags, opt.description);
    if (opt.choices) option.choices(opt.choices);
    // argParser replaces the parser choices() installed: a repeatable option checks its choices itself.
    if (opt.repeatable) option.argParser(collectFrom(opt.choices));
    if (opt.default !== undefined) option.default(opt.default);
    if (opt.required) option.makeOptionMandatory();
    cmd.addOption(option);
  }
  if (spec.examples && spec.examples.length > 0) cmd.addHelpText('after', examplesText(spec.examples));
  if (spec.subcommands && spec.subcommands.length > 0) {
    for (const sub of spec.subcommands) cmd.addCommand(buildCommand(sub, handlers, hooks, path));
    return cmd;
  }
  // Leaf: the handler key is the path below the top-level noun.
  const key = path.slice(1).join(' ');
  const handler = handlers[key];
  if (!handler) throw new Error(`no handler for command "${path.join(' ')}"`);
  cmd.action(async (...actionArgs: unknown[]) => {
    const self = actionArgs[actionArgs.length - 1] as Command;
    await hooks.invoke(path, handler, { args: [...self.processedArgs], opts: self.optsWithGlobals() });
  });
  return cmd;
}
