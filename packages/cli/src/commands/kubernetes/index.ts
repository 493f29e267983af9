import type { installCommand } from './command.ts';
import type { routerCommand } from './command.ts';
import type { controllerCommand } from './command.ts';
/**
 * `agenttier controller`, `agenttier router` and `agenttier install`: the Kubernetes platform's
 * processes and installer, from @agenttier/operator (loaded only when one of these runs).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type * as Operator from '@agenttier/operator';
import { CliError, EXIT, UsageError } from '../../errors.ts';
import { parseIntFlag, str } from '../../flags.ts';
import type { Client } from '../../context.ts';
import type { HandlerOf, HandlersOf } from '../../spec.ts';
import { serialize } from '../../output.ts';

type OperatorModule = typeof Operator;

/** A variable specifier keeps the Kubernetes client out of every other command. */
async function loadOperator(): Promise<OperatorModule> {
  const specifier = '@agenttier/operator';
  return (await import(specifier)) as OperatorModule;
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** The install namespace: -n, else $POD_NAMESPACE (in a pod), else agenttier. Not AGENTTIER_NAMESPACE. */
function installNamespace(client: Client, opts: Record<string, unknown>): string {
  return str(opts.namespace) ?? str(client.env.POD_NAMESPACE) ?? 'agenttier';
}

const KUBECONFIG_HINT =
  'Pass --kubeconfig FILE or set KUBECONFIG (kind, k3d and minikube write ~/.kube/config); check it with `kubectl cluster-info`';

/** Turns what the operator throws into a message and a next step. */
function kubeFailure(op: OperatorModule, err: unknown, what: string): CliError {
  if (err instanceof CliError) return err;
  const setup = op.kubeSetupErrorOf(err);
  if (setup) {
    const hints: Record<Operator.KubeSetupProblem, string> = {
      'no-config': KUBECONFIG_HINT,
      'config-not-found': KUBECONFIG_HINT,
      unreachable: 'Check that the cluster runs and the kubeconfig points at it: `kubectl cluster-info`',
      unauthorized:
        'Refresh the kubeconfig credentials (e.g. log in again), then check `kubectl auth whoami`',
      forbidden:
        'This user lacks rights: installing needs cluster-admin (CRDs, ClusterRoles); the processes need the RBAC `agenttier install` creates',
      'crds-missing':
        'Install AgentTier first: `agenttier install --apply` (or `kubectl apply -k deploy/crds` for the CRDs alone)',
    };
    const code = setup.problem === 'unreachable' ? EXIT.UNREACHABLE : EXIT.ERROR;
    return new CliError(setup.message, code, hints[setup.problem], { cause: err });
  }
  const sys = err as { code?: unknown; port?: unknown; message?: unknown };
  if (sys.code === 'EADDRINUSE') {
    return new CliError(
      `${what}: the address is already in use`,
      EXIT.ERROR,
      'Stop whatever holds the port, or pick another with the port flags (0 picks a free one)',
      { cause: err },
    );
  }
  const status = typeof sys.code === 'number' ? sys.code : undefined;
  const body = (err as { body?: unknown }).body;
  let message = err instanceof Error ? err.message : String(err);
  if (status !== undefined && typeof body === 'string') {
    try {
      message = (JSON.parse(body) as { message?: string }).message ?? message;
    } catch {
      // not a Status body
    }
  }
  if (status === 409) {
    return new CliError(
      `${what}: ${message}`,
      EXIT.CONFLICT,
      'Another field manager (kubectl, Helm) owns these fields; re-run with --force-conflicts to take them over',
      { cause: err },
    );
  }
  return new CliError(`${what}: ${message}`, EXIT.ERROR, undefined, { cause: err });
}

async function connect(
  op: OperatorModule,
  client: Client,
  opts: Record<string, unknown>,
  userAgent: string,
  requireCrds: boolean,
) {
  const kubeconfigPath = str(opts.kubeconfig);
  const kc = op.loadKubeAccess({ ...(kubeconfigPath ? { kubeconfigPath } : {}), env: client.env, userAgent });
  await op.checkCluster(kc, { requireCrds });
  return kc;
}

/** Waits for Ctrl-C (or SIGTERM), then closes the process; a second signal exits at once (main.ts). */
async function runUntilStopped(client: Client, name: string, close: () => Promise<void>): Promise<number> {
  await untilAborted(client.signal);
  client.log(`Stopping the ${name}…`);
  await close();
  client.log('Stopped.');
  return EXIT.OK;
}

const controller: HandlerOf<typeof controllerCommand, ''> = async (client, { opts }) => {
  const op = await loadOperator();
  const namespace = installNamespace(client, opts);
  const healthPort = parseIntFlag(opts.healthPort, '--health-port', { min: 0, max: 65_535 });
  const metricsPort = parseIntFlag(opts.metricsPort, '--metrics-port', { min: 0, max: 65_535 });
  const injectorImage = str(opts.injectorImage);
  const identity = str(opts.identity);
  const logLevel = str(opts.logLevel);
  const podSecurityFlag = str(opts.sandboxPodSecurity);
  if (podSecurityFlag !== undefined && !['baseline', 'restricted'].includes(podSecurityFlag))
    throw new UsageError(`--sandbox-pod-security expects baseline or restricted, got "${podSecurityFlag}"`);
  const podSecurity = podSecurityFlag as 'baseline' | 'restricted' | undefined;
  let proc: Operator.ControllerProcess;
  try {
    const kubeConfig = await connect(op, client, opts, `${op.CONTROLLER_COMPONENT}/0.1.0`, true);
    proc = await op.startController({
      kubeConfig,
      namespace,
      host: str(opts.host) ?? '127.0.0.1',
      healthPort,
      metricsPort,
      leaderElection: opts.leaderElect !== false,
      ...(injectorImage ? { injectorImage } : {}),
      ...(podSecurity ? { podSecurity } : {}),
      ...(identity ? { identity } : {}),
      ...(logLevel ? { logLevel } : {}),
    });
  } catch (err) {
    throw kubeFailure(op, err, 'could not start the controller');
  }
  const s = client.errorStyle;
  client.log(
    [
      '',
      `${s.green('AgentTier controller is running')} (install namespace ${s.bold(namespace)})`,
      `  health   ${proc.healthUrl}/healthz  ${proc.healthUrl}/readyz`,
      `  metrics  ${proc.metricsUrl}/metrics`,
      opts.leaderElect === false
        ? '  reconciling now (no leader election)'
        : '  reconciling while it holds the Lease agenttier-controller-leader',
      '',
      'Press Ctrl-C to stop (a leader hands the Lease over on the way out).',
      '',
    ].join('\n'),
  );
  if (client.output !== 'table') {
    client.print({ namespace, healthUrl: proc.healthUrl, metricsUrl: proc.metricsUrl }, () => '');
  }
  return runUntilStopped(client, 'controller', () => proc.close());
};

const router: HandlerOf<typeof routerCommand, ''> = async (client, { opts }) => {
  const op = await loadOperator();
  const namespace = installNamespace(client, opts);
  const port = parseIntFlag(opts.port, '--port', { min: 0, max: 65_535 });
  const host = str(opts.host) ?? '127.0.0.1';
  const logLevel = str(opts.logLevel);
  const devAuth = opts.devAuth === true;
  const dataDir =
    str(opts.dataDir) ??
    str(client.env.AGENTTIER_DATA_DIR) ??
    join(str(client.env.HOME) ?? homedir(), '.agenttier', 'router');
  let proc: Operator.RouterProcess;
  try {
    const kubeConfig = await connect(op, client, opts, `${op.ROUTER_COMPONENT}/0.1.0`, true);
    proc = await op.startRouter({
      kubeConfig,
      namespace,
      host,
      port,
      devAuth,
      dataDir,
      ...(logLevel ? { logLevel } : {}),
    });
  } catch (err) {
    throw kubeFailure(op, err, 'could not start the router');
  }
  const s = client.errorStyle;
  client.log(
    [
      '',
      `${s.green('AgentTier router is running')} at ${s.bold(proc.url)} (install namespace ${namespace})`,
      devAuth
        ? `  ${s.yellow('--dev-auth')}: every caller is an admin`
        : `  ${s.yellow('no authentication configured')}: every API call gets 401 (use --dev-auth on a private test cluster)`,
      `  agent-mode invoke records: ${proc.agentRecordsPath}`,
      '',
      'Next, in another terminal:',
      `  export AGENTTIER_API_URL=${proc.url}`,
      '  agenttier sandbox list',
      '',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  if (client.output !== 'table')
    client.print({ url: proc.url, namespace, agentRecords: proc.agentRecordsPath }, () => '');
  return runUntilStopped(client, 'router', () => proc.close());
};

function runtimeClassOf(opts: Record<string, unknown>): { name: string; handler: string } | undefined {
  const given = str(opts.runtimeClass);
  if (opts.gvisor === true && given) throw new UsageError('use either --gvisor or --runtime-class, not both');
  if (opts.gvisor === true) return { name: 'gvisor', handler: 'runsc' };
  if (!given) return undefined;
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)=([a-z0-9]([-a-z0-9]*[a-z0-9])?)$/.exec(given);
  if (!m) {
    throw new UsageError(
      `--runtime-class expects NAME=HANDLER (DNS labels), got "${given}"`,
      'For example: --runtime-class kata=kata-qemu',
    );
  }
  return { name: m[1]!, handler: m[3]! };
}

const install: HandlerOf<typeof installCommand, ''> = async (client, { opts }) => {
  const render = opts.render === true;
  const apply = opts.apply === true;
  if (render === apply) {
    throw new UsageError(
      render ? 'use either --render or --apply, not both' : 'say what to do: --render or --apply',
      'Print the manifests with `agenttier install --render`, or apply them with `agenttier install --apply`',
    );
  }
  if (render && (opts.dryRun === true || opts.forceConflicts === true)) {
    throw new UsageError('--dry-run and --force-conflicts go with --apply');
  }
  const op = await loadOperator();
  const namespace = installNamespace(client, opts);
  const runtimeClass = runtimeClassOf(opts);
  const routerReplicas = parseIntFlag(opts.routerReplicas ?? '1', '--router-replicas', { min: 0, max: 100 });
  const storageClass = str(opts.routerStorageClass);
  const persistence =
    opts.routerPersistence === false
      ? (false as const)
      : { size: str(opts.routerStorage) ?? '1Gi', ...(storageClass ? { storageClass } : {}) };
  if (persistence && routerReplicas > 1) {
    throw new UsageError(
      `--router-replicas ${routerReplicas} needs --no-router-persistence: the router keeps agent-mode invoke records on its own ReadWriteOnce volume`,
    );
  }
  const sandboxPodSecurity = str(opts.sandboxPodSecurity) ?? 'baseline';
  if (sandboxPodSecurity !== 'baseline' && sandboxPodSecurity !== 'restricted')
    throw new UsageError(
      `--sandbox-pod-security expects baseline or restricted, got "${sandboxPodSecurity}"`,
    );
  const objects = op.renderInstallManifests({
    namespace,
    sandboxPodSecurity,
    image: str(opts.image) ?? 'agenttier/controller:dev',
    injectorImage: str(opts.injectorImage) ?? 'agenttier/sandboxd-injector:dev',
    templateRegistry: str(opts.templateRegistry) ?? 'agenttier',
    templateTag: str(opts.templateTag) ?? 'dev',
    devAuth: opts.devAuth === true,
    includeCrds: opts.crds !== false,
    includeNamespace: opts.createNamespace !== false,
    routerReplicas,
    routerPersistence: persistence,
    controllerReplicas: parseIntFlag(opts.controllerReplicas ?? '1', '--controller-replicas', {
      min: 0,
      max: 100,
    }),
    ...(runtimeClass ? { runtimeClass } : {}),
  });
  if (render) {
    if (client.output === 'json') {
      client.stdout.write(serialize({ apiVersion: 'v1', kind: 'List', items: objects }, 'json'));
    } else {
      client.stdout.write(objects.map((o) => `---\n${serialize(o, 'yaml')}`).join(''));
    }
    return EXIT.OK;
  }
  const dryRun = opts.dryRun === true;
  const progress = client.progress(`Applying ${objects.length} objects (server-side apply)…`);
  let applied: Array<{ kind?: string; metadata?: { name?: string; namespace?: string } }>;
  try {
    const kubeConfig = await connect(op, client, opts, 'agenttier-install/0.1.0', false);
    applied = await op.applyInstallManifests(objects as never, {
      kubeConfig,
      force: opts.forceConflicts === true,
      dryRun,
      onApplied: (o) => progress.update(`Applied ${o.kind}/${o.metadata?.name ?? ''}`),
    });
  } catch (err) {
    progress.fail('Install failed');
    throw kubeFailure(op, err, 'install --apply failed');
  }
  progress.succeed(
    `${dryRun ? 'Validated (dry run)' : 'Applied'} ${applied.length} objects into namespace ${namespace}`,
  );
  const rows = applied.map((o) => ({
    kind: o.kind ?? '',
    name: o.metadata?.name ?? '',
    namespace: o.metadata?.namespace ?? '',
  }));
  client.print({ dryRun, namespace, applied: rows }, () =>
    rows.map((r) => `${r.kind}/${r.name}${r.namespace ? ` -n ${r.namespace}` : ''}\n`).join(''),
  );
  if (!dryRun) {
    client.log(
      [
        '',
        `Next: wait for the controller: kubectl -n ${namespace} rollout status deploy/agenttier-controller`,
        '      then create a sandbox:   kubectl apply -f sandbox.yaml   (see docs/kubernetes.md)',
      ].join('\n'),
    );
  }
  return EXIT.OK;
};

export const controllerHandlers: HandlersOf<typeof controllerCommand> = { '': controller };
export const routerHandlers: HandlersOf<typeof routerCommand> = { '': router };
export const installHandlers: HandlersOf<typeof installCommand> = { '': install };
