// A kubelet stand-in for a real API server that has no node (scripts/kube.sh starts etcd, the
// apiserver, the controller-manager and the scheduler, but no kubelet): it does through the API what
// the scheduler and a kubelet would do to the sandbox pods of one namespace, so the operator's
// behaviour suite runs against the real server's admission, validation, garbage collector and
// watches. It binds each pending pod to a node name (the pods/binding subresource, as the scheduler
// does; the claim has no provisioner to bind it, so the real scheduler would wait forever), reports
// it Running and Ready with its init containers completed (pods/status, as the kubelet does), and
// confirms the deletion of terminating pods (a DELETE with grace period 0, as the kubelet does once
// the containers are gone). What it cannot show is a container really running: that needs a node.
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { CoreV1Api } from '@kubernetes/client-node';

export const STAND_IN_NODE = 'agenttier-e2e-stand-in';

export interface ApiKubelet {
  stop(): void;
}

function runningStatus(pod: V1Pod, podIP: string): V1Pod['status'] {
  const now = new Date();
  const cond = (type: string) => ({ type, status: 'True', lastTransitionTime: now });
  return {
    ...pod.status,
    phase: 'Running',
    podIP,
    podIPs: [{ ip: podIP }],
    hostIP: '127.0.0.1',
    startTime: now,
    conditions: [cond('Initialized'), cond('Ready'), cond('ContainersReady'), cond('PodScheduled')],
    initContainerStatuses: (pod.spec?.initContainers ?? []).map((c) => ({
      name: c.name,
      image: c.image ?? '',
      imageID: '',
      ready: true,
      restartCount: 0,
      state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: now, finishedAt: now } },
    })),
    containerStatuses: pod.spec?.containers.map((c) => ({
      name: c.name,
      image: c.image ?? '',
      imageID: '',
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: now } },
    })),
  };
}

/** Starts acting as scheduler and kubelet for the sandbox pods in `namespace` until stopped. */
export function startApiKubelet(
  kc: KubeConfig,
  namespace: string,
  opts: { pollMs?: number } = {},
): ApiKubelet {
  const core = kc.makeApiClient(CoreV1Api);
  let stopped = false;
  let nextIp = 2;
  const ips = new Map<string, string>();
  const pass = async () => {
    const pods = await core.listNamespacedPod({ namespace, labelSelector: 'agenttier.io/managed=true' });
    for (const pod of pods.items) {
      const name = pod.metadata?.name ?? '';
      const uid = pod.metadata?.uid ?? '';
      try {
        if (pod.metadata?.deletionTimestamp) {
          await core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 });
          continue;
        }
        if (!pod.spec?.nodeName) {
          await core.createNamespacedPodBinding({
            namespace,
            name,
            body: {
              metadata: { name },
              target: { apiVersion: 'v1', kind: 'Node', name: STAND_IN_NODE },
            },
          });
          continue; // the next pass reports it running, as a kubelet sees it after the binding
        }
        if (pod.status?.phase !== 'Pending') continue;
        let ip = ips.get(uid);
        if (!ip) {
          ip = `10.244.0.${nextIp++ % 250}`;
          ips.set(uid, ip);
        }
        await core.replaceNamespacedPodStatus({
          namespace,
          name,
          body: { ...pod, status: runningStatus(pod, ip) },
        });
      } catch {
        // deleted or changed meanwhile: the next pass sees the new state
      }
    }
  };
  const loop = async () => {
    while (!stopped) {
      await pass().catch(() => undefined);
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 250));
    }
  };
  void loop();
  return {
    stop() {
      stopped = true;
    },
  };
}
