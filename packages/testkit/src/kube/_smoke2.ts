import { startFakeKubeApiServer } from '/work/main/packages/testkit/src/kube/index.ts';
import { writeFileSync } from 'node:fs';
const s = await startFakeKubeApiServer({ tls: process.env.TLS === '1' });
writeFileSync('/tmp/kt/kc', s.kubeconfigPath);
console.log(s.url, s.kubeconfigPath);
process.on('SIGTERM', async () => {
  await s.close();
  process.exit(0);
});
setInterval(() => {}, 1000);
