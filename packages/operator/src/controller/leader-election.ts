import type { KubeConfig, V1Lease } from '@kubernetes/client-node';
import { CoordinationV1Api, V1MicroTime } from '@kubernetes/client-node';
import type { Logger } from '@agenttier/core';
import { silentLogger } from '@agenttier/core';
import { isAlreadyExists, isConflict, isNotFound } from '@agenttier/platform-kubernetes';

export interface LeaderElectionOpts {
  kubeConfig: KubeConfig;
  namespace: string;
  /** @default 'agenttier-controller-leader' */
  leaseName?: string;
  /** This replica (the pod name in a cluster). */
  identity: string;
  /** How long a lease is valid without renewal. @default 15 */
  leaseDurationSeconds?: number;
  /** A leader that cannot renew for this long steps down. @default 10000 */
  renewDeadlineMs?: number;
  /** Pause between attempts to acquire or renew. @default 2000 */
  retryPeriodMs?: number;
  onStartedLeading: () => void | Promise<void>;
  onStoppedLeading: () => void | Promise<void>;
  logger?: Logger;
  now?: () => number;
}

export interface LeaderElector {
  readonly isLeader: boolean;
  /** Stops campaigning; a leader releases the lease so a standby takes over at once. */
  stop(): Promise<void>;
}

/**
 * client-go's leaderelection on a coordination.k8s.io Lease. Expiry is judged by when *we* last saw
 * the lease change (not by the holder's clock), so clock skew between nodes cannot cause two leaders;
 * every write is a compare-and-swap on the Lease's resourceVersion.
 */
export function startLeaderElection(opts: LeaderElectionOpts): LeaderElector {
  const api = opts.kubeConfig.makeApiClient(CoordinationV1Api);
  const name = opts.leaseName ?? 'agenttier-controller-leader';
  const duration = opts.leaseDurationSeconds ?? 15;
  const renewDeadline = opts.renewDeadlineMs ?? 10_000;
  const retry = opts.retryPeriodMs ?? 2000;
  const now = opts.now ?? Date.now;
  const log = (opts.logger ?? silentLogger).child({
    component: 'leader-election',
    lease: `${opts.namespace}/${name}`,
  });
  let leader = false;
  let stopped = false;
  let lastRenew = 0;
  let observed: { key: string; at: number } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let loop: Promise<void> = Promise.resolve();

  const record = (l: V1Lease) =>
    JSON.stringify([
      l.spec?.holderIdentity ?? '',
      String(l.spec?.renewTime ?? ''),
      l.spec?.leaseTransitions ?? 0,
    ]);

  async function tryAcquireOrRenew(): Promise<boolean> {
    // A Lease's times are MicroTime (V1MicroTime below): the API server parses exactly six fractional
    // digits and answers 400 to a plain Date's milliseconds ("….145Z"); V1MicroTime writes "….145000Z".
    let lease: V1Lease;
    try {
      lease = await api.readNamespacedLease({ namespace: opts.namespace, name });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const t = new V1MicroTime(now());
      try {
        await api.createNamespacedLease({
          namespace: opts.namespace,
          body: {
            metadata: { name, namespace: opts.namespace },
            spec: {
              holderIdentity: opts.identity,
              leaseDurationSeconds: duration,
              acquireTime: t,
              renewTime: t,
              leaseTransitions: 0,
            },
          },
        });
        return true;
      } catch (e) {
        if (isAlreadyExists(e)) return false;
        throw e;
      }
    }
    const key = record(lease);
    // One instant for the expiry judgement and the times written: an acquireTime is then always
    // later than the previous holder's last renewTime plus its duration (tests check exactly that).
    const at = now();
    const t = new V1MicroTime(at);
    if (observed?.key !== key) observed = { key, at };
    const holder = lease.spec?.holderIdentity ?? '';
    const mine = holder === opts.identity;
    const expired = holder === '' || at - observed.at > (lease.spec?.leaseDurationSeconds ?? duration) * 1000;
    if (!mine && !expired) return false;
    const spec = {
      ...lease.spec,
      holderIdentity: opts.identity,
      leaseDurationSeconds: duration,
      renewTime: t,
      ...(mine ? {} : { acquireTime: t, leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + 1 }),
    };
    try {
      const updated = await api.replaceNamespacedLease({
        namespace: opts.namespace,
        name,
        body: { ...lease, spec },
      });
      observed = { key: record(updated), at: now() };
      return true;
    } catch (err) {
      if (isConflict(err)) return false; // someone else wrote first
      throw err;
    }
  }

  async function tick(): Promise<void> {
    if (stopped) return;
    let ok = false;
    try {
      ok = await tryAcquireOrRenew();
    } catch (err) {
      log.warn({ err: String(err) }, 'lease request failed');
    }
    if (stopped) return;
    if (ok) {
      lastRenew = now();
      if (!leader) {
        leader = true;
        log.info({ identity: opts.identity }, 'became leader');
        await opts.onStartedLeading();
      }
    } else if (leader && now() - lastRenew > renewDeadline) {
      leader = false;
      log.warn({ identity: opts.identity }, 'lost the lease');
      await opts.onStoppedLeading();
    }
  }

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      loop = tick().finally(schedule);
    }, retry);
    timer.unref?.();
  };
  loop = tick().finally(schedule);

  return {
    get isLeader() {
      return leader;
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await loop.catch(() => undefined);
      if (!leader) return;
      leader = false;
      await opts.onStoppedLeading();
      try {
        const lease = await api.readNamespacedLease({ namespace: opts.namespace, name });
        if (lease.spec?.holderIdentity === opts.identity) {
          await api.replaceNamespacedLease({
            namespace: opts.namespace,
            name,
            body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 } },
          });
        }
      } catch (err) {
        log.warn({ err: String(err) }, 'could not release the lease');
      }
    },
  };
}
