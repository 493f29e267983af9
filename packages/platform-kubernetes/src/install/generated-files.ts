import { buildCrd, CRD_KINDS, crdFileName } from '../crd/crds.ts';
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
  for (const [path, text] of files) files.set(path, await prettierYaml(text));
  return files;
}
