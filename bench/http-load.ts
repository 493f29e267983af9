/**
 * A closed-loop HTTP load generator for throughput rows: `connections` keep-alive connections each send
 * the next GET as soon as the last answer is read, for `durationMs`. Runs as its own process (forked by
 * run.ts) so the load and the router do not share one event loop. Prints one JSON line:
 * `{requests, seconds, statuses}`.
 * Args: JSON `{url, headers, durationMs, connections}`.
 */
import { Agent, request } from 'node:http';

interface LoadArgs {
  url: string;
  headers: Record<string, string>;
  durationMs: number;
  connections: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as LoadArgs;
const agent = new Agent({ keepAlive: true, maxSockets: args.connections });
const statuses: Record<string, number> = {};
let requests = 0;
const started = performance.now();
const deadline = started + args.durationMs;

const once = () =>
  new Promise<void>((resolve, reject) => {
    const req = request(args.url, { agent, headers: args.headers }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => {
        statuses[res.statusCode ?? 0] = (statuses[res.statusCode ?? 0] ?? 0) + 1;
        requests++;
        resolve();
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });

await Promise.all(
  Array.from({ length: args.connections }, async () => {
    while (performance.now() < deadline) await once();
  }),
);
const seconds = (performance.now() - started) / 1000;
agent.destroy();
process.stdout.write(`${JSON.stringify({ requests, seconds, statuses })}\n`);
