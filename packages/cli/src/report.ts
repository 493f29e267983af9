import type { Client, OutStream } from './context.ts';
import type { ErrorContext, ErrorReport } from './errors.ts';
import { describeError } from './errors.ts';
import type { Style } from './output.ts';

/** Prints `Error: <message>`, detail lines and a `Hint:` line to stderr. */
export function printReport(stderr: OutStream, style: Style, report: ErrorReport, stack?: string): void {
  const lines = [`${style.red('Error:')} ${report.message}`, ...report.details];
  if (report.hint) lines.push(`${style.dim('Hint:')} ${report.hint}`);
  if (stack) lines.push(style.dim(stack));
  stderr.write(`${lines.join('\n')}\n`);
}

/** Reports an error the way the top-level catch would, and returns its exit code. */
export function reportError(client: Client, err: unknown, ctx: ErrorContext): number {
  const report = describeError(err, {
    apiUrl: client.settings.apiUrl,
    configPath: client.config.path,
    ...ctx,
  });
  const debug = client.env.AGENTTIER_DEBUG && err instanceof Error ? err.stack : undefined;
  printReport(client.stderr, client.errorStyle, report, debug);
  return report.exitCode;
}
