// Who may import whom: the one table behind the `agenttier/layers` lint rule and docs/architecture.md
// (scripts/lint/layers.test.ts checks both against it, and against each package.json).
//
// `uses`: the workspace packages a package's production code may import. Test code (see TEST_SUPPORT)
// may also import `testkit` and the `testing` subpath of any package in `uses` or `testUses`.
// Anything not listed is uphill (it depends on this package, directly or not) or sideways.

/** @type {Record<string, { uses: string[]; testUses?: string[]; role: string }>} */
export const LAYERS = {
  contract: { uses: [], role: 'zod schemas, wire types, the error catalogue, limits' },
  core: {
    uses: ['contract'],
    role: 'planner, reconciler, work queue, controller; ports (Store, Runtime, DataPlane, AgentRecordStore)',
  },
  sandboxd: {
    uses: ['contract'],
    role: 'the daemon inside every sandbox, and its client (from contract: the SSE encoding, wire types)',
  },
  sdk: { uses: ['contract'], role: 'TypeScript client of the REST API' },
  'platform-local': { uses: ['contract', 'core'], role: 'SqliteStore, DockerRuntime, engine data plane' },
  'platform-kubernetes': {
    uses: ['contract', 'core'],
    role: 'Kubernetes store and runtime, CRDs, install manifests',
  },
  server: {
    // mcp and sdk: the router serves MCP at /mcp, its tools calling the router's own API in-process.
    uses: ['contract', 'core', 'mcp', 'sandboxd', 'sdk'],
    testUses: ['platform-local'],
    role: 'the HTTP app: Fastify routes, one error mapping, sandboxd data plane, agent mode',
  },
  local: {
    uses: ['contract', 'core', 'platform-local', 'sandboxd', 'server'],
    role: 'the local platform in one process (`agenttier up`)',
  },
  operator: {
    uses: ['contract', 'core', 'platform-kubernetes', 'sandboxd', 'server'],
    // The Helm-on-a-real-node suite drives the in-cluster router with the SDK, as users do.
    testUses: ['sdk'],
    role: '`agenttier controller` and `agenttier router` on a cluster',
  },
  mcp: {
    uses: ['contract', 'sdk'],
    testUses: ['local'],
    role: 'the MCP server: sandbox tools for models, over the SDK',
  },
  web: {
    uses: ['contract', 'sdk'],
    testUses: ['local', 'testkit'],
    role: 'the web UI: a React single-page app the router serves at `/`, on the public API through the SDK',
  },
  cli: { uses: ['contract', 'sdk', 'mcp', 'local', 'operator'], role: 'the `agenttier` command' },
  testkit: {
    uses: ['contract', 'core'],
    role: 'test support shared by packages: port suites, fake kube-apiserver, eventually()',
  },
};

export const SCOPE = '@agenttier/';

/**
 * Test code: test files, and the test support they share. Test support lives only in a package's
 * `src/testing/` (published as its `./testing` subpath) or in `testkit`; production code may not import
 * any of it. A production file that needs a test runner is test support in the wrong place: the
 * `agenttier/layers` rule refuses TEST_RUNNERS outside test code.
 */
export const TEST_SUPPORT = [
  /\.test\.tsx?$/, // .tsx: the web UI's component tests
  /\/src\/testing\//,
  /^packages\/testkit\//,
];

/** Packages only test code imports: a file that imports one is a test or test support. */
export const TEST_RUNNERS = [/^vitest(\/|$)/, /^@vitest\//, /^playwright-core$/];

export function isTestSupport(relativePath) {
  return TEST_SUPPORT.some((re) => re.test(relativePath));
}
