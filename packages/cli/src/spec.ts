import { Command, Option } from 'commander';
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

/** A command handler: does the work, returns the exit code, throws on failure. */
export type Handler = (client: Client, input: HandlerInput) => Promise<number>;

/** Handlers of one noun, keyed by the path below it (`create`, `files ls`); `''` for a leaf noun. */
export type HandlerMap = Record<string, Handler>;

function collect(value: string, previous: unknown): string[] {
  return [...(Array.isArray(previous) ? (previous as string[]) : []), value];
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
    if (opt.repeatable) option.argParser(collect);
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
