// The layering lint rules catch what they are for: each case lints a snippet as if it were a file at
// `path` (ESLint's Node API with the repository's own eslint.config.js) and expects the named rule.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { LAYERS, SCOPE, TEST_RUNNERS, isTestSupport } from './layers.js';

const ROOT = join(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: ROOT });

/** The messages of one of the two rules (an uphill import is usually undeclared as well). */
async function problemsOf(path: string, code: string, rule = 'agenttier/layers'): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, path) });
  return (result?.messages ?? []).filter((m) => m.ruleId === rule).map((m) => `${m.ruleId}: ${m.message}`);
}

describe('agenttier/layers', () => {
  const problems = (path: string, code: string) => problemsOf(path, code, 'agenttier/layers');
  it.each([
    ['packages/core/src/x.ts', "import { createApp } from '@agenttier/server';\nexport const a = createApp;"],
    ['packages/contract/src/x.ts', "export * from '@agenttier/core';"],
    ['packages/server/src/x.ts', "export { startLocalPlatform } from '@agenttier/local';"],
    ['packages/platform-local/src/x.ts', "export { createApp } from '@agenttier/server';"],
    ['packages/operator/src/x.ts', "export { SqliteStore } from '@agenttier/platform-local';"],
    ['packages/sdk/src/x.ts', "export const m = await import('@agenttier/server');"],
    ['packages/server/src/x.test.ts', "export { startTestPlatform } from '@agenttier/local/testing';"],
  ])('refuses an uphill or sideways import in %s', async (path, code) => {
    expect(await problems(path, code)).toEqual([
      expect.stringMatching(/^agenttier\/layers: .* may not import @agenttier\//),
    ]);
  });

  // Every boundary, not a sample: a production file of each package imports every other package, and
  // exactly the ones its row does not name must be refused (through ESLint, as `npm run lint` runs it).
  it.each(Object.keys(LAYERS))('refuses every package %s may not import, and only those', async (own) => {
    const others = Object.keys(LAYERS).filter((name) => name !== own);
    const code = others.map((name, i) => `import * as m${i} from '${SCOPE}${name}';`).join('\n');
    const refused = (
      await problems(
        `packages/${own}/src/x.ts`,
        `${code}\nexport const all = [${others.map((_, i) => `m${i}`).join(', ')}];`,
      )
    )
      .map((m) =>
        /may not import @agenttier\/([a-z-]+)|production code may not import test support \('@agenttier\/([a-z-]+)'\)/.exec(
          m,
        ),
      )
      .map((m) => m?.[1] ?? m?.[2])
      .sort();
    const allowed = LAYERS[own]!.uses;
    expect(refused).toEqual(others.filter((name) => !allowed.includes(name)).sort());
  });

  it('refuses test support in production code, and allows it in tests', async () => {
    const testkit = "export { eventually } from '@agenttier/testkit';";
    expect(await problems('packages/server/src/x.ts', testkit)).toEqual([
      expect.stringContaining('production code may not import test support'),
    ]);
    expect(await problems('packages/cli/src/x.ts', "export * from '@agenttier/sdk/testing';")).toEqual([
      expect.stringContaining('production code may not import test support'),
    ]);
    expect(await problems('packages/server/src/routes/x.ts', "export * from '../testing/fake.ts';")).toEqual([
      expect.stringContaining('production code may not import test support'),
    ]);
    expect(await problems('packages/cli/src/x.test.ts', "export * from '@agenttier/sdk/testing';")).toEqual(
      [],
    );
    expect(await problems('packages/platform-local/src/x.test.ts', testkit)).toEqual([]);
  });

  it('keeps test support in testing subpaths: a production file that uses a test runner is refused', async () => {
    const runner = "import { describe } from 'vitest';\nexport const d = describe;";
    for (const path of [
      'packages/operator/src/testing.ts',
      'packages/operator/src/e2e/operator-cluster.ts',
      'packages/operator/src/controller/leader-election-suite.ts',
      'packages/web/src/e2e/browser.ts',
    ]) {
      expect(await problems(path, runner), path).toEqual([expect.stringContaining("'vitest' is for tests")]);
    }
    expect(
      await problems(
        'packages/server/src/x.ts',
        "import { chromium } from 'playwright-core';\nexport const c = chromium;",
      ),
    ).toEqual([expect.stringContaining("'playwright-core' is for tests")]);
    expect(await problems('packages/operator/src/testing/x.ts', runner)).toEqual([]);
    expect(await problems('packages/operator/src/x.test.ts', runner)).toEqual([]);
    // Outside a testing subpath a helper is production code, so it may not use testkit either.
    expect(
      await problems('packages/operator/src/e2e/x.ts', "export { eventually } from '@agenttier/testkit';"),
    ).toEqual([expect.stringContaining('production code may not import test support')]);
  });

  it('refuses deep imports and relative imports into another package', async () => {
    expect(
      await problems('packages/server/src/x.ts', "export * from '@agenttier/core/src/plan.ts';"),
    ).toEqual([expect.stringContaining('is not an entry point of @agenttier/core')]);
    expect(await problems('packages/server/src/x.ts', "export * from '../../core/src/plan.ts';")).toEqual([
      expect.stringContaining('reaches into another directory than packages/server'),
    ]);
  });

  it('accepts the imports the table allows', async () => {
    const code = [
      "import { PlatformError } from '@agenttier/contract';",
      "import type { Store } from '@agenttier/core';",
      "import { createApp } from '@agenttier/server';",
      "import { DockerRuntime } from '@agenttier/platform-local';",
      'export type S = Store;',
      'export const all = [PlatformError, createApp, DockerRuntime];',
    ].join('\n');
    expect(await problems('packages/local/src/x.ts', code)).toEqual([]);
  });
});

describe('named exports only', () => {
  it.each(['packages/sdk/src/index.ts', 'packages/testkit/src/index.ts', 'packages/sandboxd/src/x.ts'])(
    'refuses export * in %s',
    async (path) => {
      expect(await problemsOf(path, "export * from './types.ts';", 'no-restricted-syntax')).toEqual([
        expect.stringContaining('export the names other modules use, not *'),
      ]);
    },
  );

  it.each(['packages/core/src/x.ts', 'packages/server/src/routes/x.ts', 'packages/cli/src/commands/x.ts'])(
    'refuses a default export in %s',
    async (path) => {
      expect(await problemsOf(path, 'export default function f() {}', 'no-restricted-syntax')).toEqual([
        expect.stringContaining('export by name'),
      ]);
    },
  );

  it("allows the web UI's lazily loaded components their default export", async () => {
    const component = 'export default function Tab() {\n  return null;\n}';
    expect(await problemsOf('packages/web/src/sandbox/XTab.tsx', component, 'no-restricted-syntax')).toEqual(
      [],
    );
  });
});

describe('integration tests', () => {
  it('wait for conditions, not for a fixed time', async () => {
    const sleep = 'export async function f() {\n  await new Promise((r) => setTimeout(r, 300));\n}';
    expect(await problemsOf('packages/local/src/x.int.test.ts', sleep, 'no-restricted-syntax')).toEqual([
      expect.stringContaining('wait for the condition, not for a time'),
    ]);
    expect(
      await problemsOf('packages/local/src/x.int.test.ts', "export * from './y.ts';", 'no-restricted-syntax'),
    ).toEqual([expect.stringContaining('export the names other modules use, not *')]);
  });
});

describe('SQLite in the server', () => {
  it('is opened through SqliteDatabase only (its statement cache)', async () => {
    const code =
      "import { DatabaseSync } from 'node:sqlite';\nexport const d = new DatabaseSync(':memory:');";
    expect(await problemsOf('packages/server/src/auth/x.ts', code, 'no-restricted-imports')).toEqual([
      expect.stringContaining('SqliteDatabase'),
    ]);
    expect(
      await problemsOf('packages/server/src/sqlite/sqlite-database.ts', code, 'no-restricted-imports'),
    ).toEqual([]);
  });
});

describe('test support in the tree', () => {
  it('every package file that imports a test runner is a test or lives in a testing subpath', () => {
    const files = execFileSync('git', ['ls-files', 'packages/*.ts', 'packages/*.tsx'], {
      cwd: ROOT,
      encoding: 'utf8',
    })
      .split('\n')
      .filter(Boolean);
    const misplaced = files.filter((path) => {
      if (isTestSupport(path)) return false;
      const imports = [...readFileSync(join(ROOT, path), 'utf8').matchAll(/from '([^']+)'/g)].map(
        (m) => m[1]!,
      );
      return imports.some((specifier) => TEST_RUNNERS.some((re) => re.test(specifier)));
    });
    expect(misplaced).toEqual([]);
  });
});

describe('agenttier/declared-dependencies', () => {
  const problems = (path: string, code: string) => problemsOf(path, code, 'agenttier/declared-dependencies');
  it('refuses a package the importer does not declare', async () => {
    expect(
      await problems('packages/core/src/x.ts', "import { z } from 'zod';\nexport const s = z.string();"),
    ).toEqual([expect.stringContaining("'zod' is not declared in packages/core/package.json")]);
  });

  it('refuses a devDependency in production code, except for types', async () => {
    expect(await problems('packages/platform-local/src/x.ts', "import '@types/dockerode';")).toEqual([
      expect.stringContaining('production code needs a dependency'),
    ]);
    expect(
      await problems(
        'packages/sdk/src/x.ts',
        "import type { WebSocket } from 'ws';\nexport type W = WebSocket;",
      ),
    ).toEqual([]);
    expect(
      await problems(
        'packages/sdk/src/x.test.ts',
        "import { WebSocket } from 'ws';\nexport const W = WebSocket;",
      ),
    ).toEqual([]);
  });
});

describe('the layer table', () => {
  const packages = readdirSync(join(ROOT, 'packages'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'node_modules')
    .map((d) => d.name)
    .sort();

  it('has one entry for every package', () => {
    expect(Object.keys(LAYERS).sort()).toEqual(packages);
  });

  it.each(packages)("matches %s's declared workspace dependencies", (name) => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'packages', name, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    const declared = Object.keys(pkg.dependencies ?? {})
      .filter((d) => d.startsWith(SCOPE))
      .map((d) => d.slice(SCOPE.length))
      .sort();
    expect(declared).toEqual([...(LAYERS[name]?.uses ?? [])].sort());
  });

  it('has no cycle', () => {
    const seen = new Set<string>();
    const visit = (name: string, path: string[]): void => {
      expect(path, `cycle: ${[...path, name].join(' -> ')}`).not.toContain(name);
      if (seen.has(name)) return;
      for (const dep of LAYERS[name]?.uses ?? []) visit(dep, [...path, name]);
      seen.add(name);
    };
    for (const name of Object.keys(LAYERS)) visit(name, []);
  });
});

describe('README.md', () => {
  it("has each package's imports as scripts/lint/layers.js allows them", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const documented = Object.fromEntries(
      readme
        .split('\n')
        .map((l) => /^\|\s*`([a-z-]+)`\s*\|[^|]*\|\s*([^|]*?)\s*\|$/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null && m[1]! in LAYERS)
        .map((m) => [
          m[1]!,
          m[2]!
            .replace(/\([^)]*\)/g, '') // third-party packages and remarks are in brackets
            .split(/,| and /)
            .map((s) => s.trim())
            .filter(Boolean)
            .sort(),
        ]),
    );
    const table = Object.fromEntries(Object.entries(LAYERS).map(([name, l]) => [name, [...l.uses].sort()]));
    expect(documented).toEqual(table);
  });
});

describe('docs/architecture.md', () => {
  it('has the layer table of scripts/lint/layers.js', () => {
    const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
    const rows = doc
      .split('\n')
      .map((l) => /^\|\s*`([a-z-]+)`\s*\|\s*([^|]*?)\s*\|/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .filter((m) => m[1]! in LAYERS);
    const documented = Object.fromEntries(
      rows.map((m) => [
        m[1]!,
        m[2] === '—'
          ? []
          : m[2]!
              .split(',')
              .map((s) => s.trim())
              .sort(),
      ]),
    );
    const table = Object.fromEntries(Object.entries(LAYERS).map(([name, l]) => [name, [...l.uses].sort()]));
    expect(documented).toEqual(table);
  });
});
