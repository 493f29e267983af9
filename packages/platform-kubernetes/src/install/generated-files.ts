import { buildCrd, CRD_KINDS, crdFileName } from '../crd/crds.ts';
import { helmDefaultTemplates, helmRbacTemplate } from './helm-templates.ts';
import { renderInstallManifests } from './install-manifests.ts';
import { prettierYaml, toYamlDocuments } from './yaml.ts';

/**
 * Every file under deploy/ that is generated from code, keyed by its path from the repository root.
 * `scripts/gen-crds.ts` writes them; `generated-files.test.ts` fails when a committed copy is stale.
 */
export async function generatedFiles(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const kind of CRD_KINDS) {
    const yaml = toYamlDocuments([buildCrd(kind)]);
    files.set(`deploy/crds/${crdFileName(kind)}`, yaml);
    // Helm installs everything in a chart's crds/ before the templates and never templates it.
    files.set(`deploy/helm/agenttier/crds/${crdFileName(kind)}`, yaml);
  }
  files.set(
    'deploy/crds/kustomization.yaml',
    toYamlDocuments([
      {
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        resources: CRD_KINDS.map(crdFileName),
      },
    ]),
  );
  // The kustomize base: `renderInstallManifests()` with its defaults, one file per concern.
  const objs = renderInstallManifests({ includeCrds: false });
  const byFile: Record<string, unknown[]> = {
    'namespace.yaml': [],
    'rbac.yaml': [],
    'controller.yaml': [],
    'router.yaml': [],
    'templates.yaml': [],
  };
  for (const o of objs) {
    const kind = o.kind as string;
    const name = (o.metadata as { name: string }).name;
    const file =
      kind === 'Namespace'
        ? 'namespace.yaml'
        : kind === 'ClusterSandboxTemplate'
          ? 'templates.yaml'
          : ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(kind)
            ? 'rbac.yaml'
            : name.includes('controller')
              ? 'controller.yaml'
              : 'router.yaml';
    byFile[file]!.push(o);
  }
  for (const [file, list] of Object.entries(byFile))
    files.set(`deploy/kustomize/base/${file}`, toYamlDocuments(list));
  files.set(
    'deploy/kustomize/base/kustomization.yaml',
    toYamlDocuments([
      {
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        resources: ['../../crds', ...Object.keys(byFile)],
      },
    ]),
  );
  for (const [path, text] of files) files.set(path, await prettierYaml(text));
  // Helm templates are not YAML until rendered (prettier skips them: .prettierignore).
  files.set('deploy/helm/agenttier/templates/rbac.yaml', helmRbacTemplate());
  files.set('deploy/helm/agenttier/templates/default-templates.yaml', helmDefaultTemplates());
  return files;
}
