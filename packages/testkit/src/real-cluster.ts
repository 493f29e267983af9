import { describe, it } from 'vitest';

/**
 * Why a suite against a real cluster does not run ('' when it does): it needs the cluster KUBECONFIG
 * names and AGENTTIER_REAL_KUBE=1 (scripts/kube.sh sets both), so a developer's cluster is never used
 * by accident.
 */
export function realClusterSkipReason(env: NodeJS.ProcessEnv = process.env): string {
  if (!env.KUBECONFIG) return 'KUBECONFIG is not set';
  if (env.AGENTTIER_REAL_KUBE !== '1') return 'AGENTTIER_REAL_KUBE is not 1';
  return '';
}

export interface RealClusterSuiteOpts {
  /**
   * Why it does not run, when the suite needs more than a real cluster (e.g. a real node).
   * @default realClusterSkipReason()
   */
  skipReason?: string;
}

/**
 * Registers `suite` (a function that declares `describe`s) only when a real cluster is there. Without
 * one it logs the reason and registers one skipped test named after it, so the run's report says why
 * the suite did not run instead of leaving it out silently.
 */
export function describeOnRealCluster(title: string, suite: () => void): void;
export function describeOnRealCluster(title: string, opts: RealClusterSuiteOpts, suite: () => void): void;
export function describeOnRealCluster(
  title: string,
  ...args: [() => void] | [RealClusterSuiteOpts, () => void]
): void {
  const [opts, suite] = args.length === 1 ? [{}, args[0]] : args;
  const reason = opts.skipReason ?? realClusterSkipReason();
  if (!reason) {
    suite();
    return;
  }
  console.info(`[${title}] skipping the real-cluster run: ${reason}`);
  describe(title, () => {
    it.skip(`skipped: ${reason}`, () => {});
  });
}
