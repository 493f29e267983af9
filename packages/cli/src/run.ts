import { Command, CommanderError, Option } from 'commander';
import type { CommandEntry } from './commands/index.ts';
import { commands as defaultCommands } from './commands/index.ts';
import type { GlobalFlags } from './config.ts';
import { OUTPUT_FORMATS, configPath, loadConfig, resolveSettings } from './config.ts';
import type { CliDeps } from './context.ts';
import { createClient } from './context.ts';
import { refreshStoredToken } from './oidc/stored-token.ts';
import type { ErrorContext } from './errors.ts';
import { EXIT, describeError } from './errors.ts';
import { createStyle } from './output.ts';
import { printReport } from './report.ts';
import { buildCommand } from './spec.ts';
import type { BuildHooks } from './spec.ts';
import { CLI_VERSION } from './version.ts';

const ROOT_HELP = `
Settings come from flags, then the environment (AGENTTIER_API_URL, AGENTTIER_API_KEY,
AGENTTIER_TOKEN, AGENTTIER_NAMESPACE), then the config file (~/.config/agenttier/config.json,
or AGENTTIER_CONFIG), then defaults (http://127.0.0.1:8080).

Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 conflict, 5 validation,
6 server unreachable, 124 timed out, 130 interrupted/canceled; \`sandbox exec\`,
\`sandbox terminal\`, \`invoke\` and \`attach\` exit with the command's own code.

Examples:
  $ agenttier up
  $ agenttier sandbox create demo --template general-coding --wait
  $ agenttier sandbox exec demo -- python3 -c 'print(6*7)'
  $ agenttier sandbox list -o json
  $ agenttier sandbox terminal demo
  $ agenttier invoke demo-agent --input 'count 3'
`;

function subjectOf(args: unknown[]): string | undefined {
  const first = args[0];
  if (typeof first === 'string') return first;
  if (Array.isArray(first) && typeof first[0] === 'string') return first[0];
  return undefined;
}

/**
 * Parses `argv` (without `node` and the script), runs the command and returns the exit code.
 * This is the one place that catches errors and maps them to exit codes; handlers only throw.
 */
export async function run(
  argv: string[],
  deps: CliDeps,
  entries: readonly CommandEntry[] = defaultCommands,
): Promise<number> {
  let exitCode: number = EXIT.OK;
  const ctx: ErrorContext = { commandPath: [] };
  const envColor = !deps.env.NO_COLOR && deps.env.TERM !== 'dumb';
  let colorFlag = !argv.includes('--no-color');
  const errStyle = () => createStyle(envColor && colorFlag && deps.stderr.isTTY === true);

  const hooks: BuildHooks = {
    configure(cmd: Command, path: string[]) {
      cmd.exitOverride();
      cmd.configureOutput({
        writeOut: (s) => deps.stdout.write(s),
        writeErr: (s) => deps.stderr.write(s),
        outputError: (s) => {
          const message = s.trim().replace(/^error:\s*/, '');
          const usage = path.length > 0 ? `agenttier ${path.join(' ')} --help` : 'agenttier --help';
          const execHint =
            path.at(-1) === 'exec' && message.startsWith('unknown option')
              ? 'Put the command after `--`, e.g. `agenttier sandbox exec NAME -- ls -la`'
              : undefined;
          printReport(deps.stderr, errStyle(), {
            exitCode: EXIT.USAGE,
            message,
            details: [],
            hint: execHint ?? `Run \`${usage}\` for usage`,
            internal: false,
          });
        },
      });
    },
    async invoke(path, handler, input) {
      ctx.commandPath = path;
      const subject = subjectOf(input.args);
      if (subject !== undefined) ctx.subject = subject;
      const flags = input.opts as GlobalFlags;
      colorFlag = flags.color !== false;
      const config = await loadConfig(configPath(deps.env, deps.homeDir));
      ctx.configPath = config.path;
      let settings = resolveSettings(flags, deps.env, config.values);
      ctx.apiUrl = settings.apiUrl;
      // login and logout replace or revoke the stored tokens themselves.
      if (path[0] !== 'login' && path[0] !== 'logout')
        settings = await refreshStoredToken(config, settings, {
          signal: deps.signal,
          warn: (m) => deps.stderr.write(`Warning: ${m}\n`),
        });
      const client = createClient(deps, settings, config, envColor && colorFlag);
      if (config.warning) client.warn(config.warning);
      exitCode = await handler(client, input);
    },
  };

  const program = new Command('agenttier')
    .description('AgentTier: isolated, persistent sandboxes for humans and AI agents')
    .version(CLI_VERSION, '-V, --version', 'print the CLI version')
    .addOption(new Option('--api-url <url>', 'AgentTier server URL'))
    .addOption(new Option('--api-key <key>', 'API key (sent as X-API-Key)'))
    .addOption(new Option('--token <token>', 'bearer token (OIDC JWT)'))
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS))
    .addOption(new Option('-n, --namespace <namespace>', 'namespace to work in (default: all for lists)'))
    .option('--no-color', 'disable colour')
    .addHelpText('after', ROOT_HELP)
    .showSuggestionAfterError(true);
  hooks.configure(program, []);
  for (const entry of entries) program.addCommand(buildCommand(entry.spec, entry.handlers, hooks));

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.OK;
      // Missing subcommand (`agenttier sandbox`): help was printed to stderr.
      return EXIT.USAGE;
    }
    const report = describeError(err, ctx);
    const stack =
      (deps.env.AGENTTIER_DEBUG || report.internal) && err instanceof Error ? err.stack : undefined;
    printReport(deps.stderr, errStyle(), report, deps.env.AGENTTIER_DEBUG ? stack : undefined);
    return report.exitCode;
  }
}
