import type { Readable, Writable } from 'node:stream';
import type { WebSocketConstructor } from '@agenttier/sdk';
import { AgentTier } from '@agenttier/sdk';
import { WebSocket as WsWebSocket } from 'ws';
import type { LoadedConfig, OutputFormat, Settings } from './config.ts';
import type { Style } from './output.ts';
import { createStyle, serialize } from './output.ts';
import { createProgress, type Progress } from './progress.ts';

/** What `agenttier up` needs from `@agenttier/local` (loaded lazily so other commands never load it). */
export interface LocalPlatformModule {
  startLocalPlatform(opts: {
    host?: string;
    port?: number;
    dataDir?: string;
    dockerHost?: string;
    logLevel?: string;
    maxSandboxes?: number;
    createsPerSecond?: number;
    createBurst?: number;
    allowedHosts?: string[];
    corsOrigins?: string[];
    previewOrigin?: string;
    workspaceQuota?: 'auto' | 'loop' | 'off';
    devAuth?: boolean;
    /** AGENTTIER_OIDC_* settings (the environment with `up`'s --oidc-* flags over it). */
    oidcEnv?: Record<string, string | undefined>;
  }): Promise<{
    url: string;
    close(): Promise<void>;
    /** `existing` when it is a valid admin key of the platform, else a new one (API-key auth). */
    ensureAdminKey?(existing?: string): Promise<{ key: string; created: boolean }>;
  }>;
}

export type OutStream = Writable & { isTTY?: boolean; columns?: number; rows?: number };

/** stdin; a terminal has `isTTY` and `setRawMode` (used by `sandbox terminal`). */
export type InStream = Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };

/** Everything the CLI takes from the process; tests pass their own. */
export interface CliDeps {
  stdout: OutStream;
  stderr: OutStream;
  stdin: InStream;
  env: Record<string, string | undefined>;
  cwd: string;
  homeDir: string;
  /** Aborted on SIGINT/SIGTERM: interrupts waits and requests, and ends `agenttier up`. */
  signal: AbortSignal;
  /** @default dynamic import of '@agenttier/local' */
  loadPlatform?: () => Promise<LocalPlatformModule>;
}

/**
 * The client every command handler receives: stdio, resolved settings, the SDK and output helpers.
 * Handlers never touch `process`.
 */
export interface Client {
  readonly stdout: OutStream;
  readonly stderr: OutStream;
  readonly stdin: InStream;
  readonly env: Record<string, string | undefined>;
  readonly cwd: string;
  readonly signal: AbortSignal;
  readonly settings: Settings;
  readonly config: LoadedConfig;
  readonly output: OutputFormat;
  /** Styling for stdout (tables) on a colour terminal. */
  readonly style: Style;
  /** Styling for stderr messages. */
  readonly errorStyle: Style;
  /** The SDK client, created on first use. */
  sdk(): AgentTier;
  /** Writes data to stdout: the serialised object for json/yaml, `table()` for table output. */
  print(data: unknown, table: () => string): void;
  /** A message for humans, on stderr. */
  log(message: string): void;
  warn(message: string): void;
  /** A spinner on a TTY, plain status lines otherwise. */
  progress(text: string): Progress;
  loadPlatform(): Promise<LocalPlatformModule>;
}

export function createClient(
  deps: CliDeps,
  settings: Settings,
  config: LoadedConfig,
  color: boolean,
): Client {
  let sdk: AgentTier | undefined;
  const stdoutStyle = createStyle(color && deps.stdout.isTTY === true);
  const stderrStyle = createStyle(color && deps.stderr.isTTY === true);
  return {
    stdout: deps.stdout,
    stderr: deps.stderr,
    stdin: deps.stdin,
    env: deps.env,
    cwd: deps.cwd,
    signal: deps.signal,
    settings,
    config,
    output: settings.output,
    style: stdoutStyle,
    errorStyle: stderrStyle,
    sdk() {
      sdk ??= new AgentTier({
        apiUrl: settings.apiUrl,
        ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
        ...(settings.token ? { token: settings.token } : {}),
        // `ws` reports the status and body of a refused upgrade, so terminal and tunnel errors are exact.
        WebSocket: WsWebSocket as unknown as WebSocketConstructor,
        env: {},
      });
      return sdk;
    },
    print(data, table) {
      deps.stdout.write(settings.output === 'table' ? table() : serialize(data, settings.output));
    },
    log(message) {
      deps.stderr.write(`${message}\n`);
    },
    warn(message) {
      deps.stderr.write(`${stderrStyle.yellow('Warning:')} ${message}\n`);
    },
    progress(text) {
      return createProgress(deps.stderr, text, color && deps.stderr.isTTY === true);
    },
    async loadPlatform() {
      if (deps.loadPlatform) return deps.loadPlatform();
      // A variable specifier keeps the local platform (and its types) out of everything but `up`.
      const specifier = '@agenttier/local';
      const mod = (await import(specifier)) as Partial<LocalPlatformModule>;
      if (typeof mod.startLocalPlatform !== 'function') {
        throw new Error('@agenttier/local does not export startLocalPlatform');
      }
      return mod as LocalPlatformModule;
    },
  };
}
