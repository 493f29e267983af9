// Local ESLint rules that keep the package layering of docs/architecture.md:
//   agenttier/layers                 who may import whom (LAYERS), exported entry points only, no test
//                                    support in production code, test support only in `testing`
//                                    subpaths, no relative import out of a package
//   agenttier/declared-dependencies  every imported package is declared in the importer's package.json
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAYERS, SCOPE, TEST_RUNNERS, isTestSupport } from './layers.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BUILTINS = new Set(builtinModules);
const manifests = new Map();

function manifest(dir) {
  if (!manifests.has(dir)) {
    const file = join(dir, 'package.json');
    manifests.set(dir, existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined);
  }
  return manifests.get(dir);
}

/** `packages/<name>/…` → name; anything else (bench, scripts, examples, config) → undefined. */
function packageOf(relPath) {
  const m = /^packages\/([^/]+)\//.exec(relPath);
  return m ? m[1] : undefined;
}

function posix(p) {
  return p.split(sep).join('/');
}

function packageNameOf(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Calls `check(node, specifier, typeOnly)` for every static import/export source and literal import(). */
function eachImport(check) {
  const typeOnly = (node) =>
    node.importKind === 'type' ||
    node.exportKind === 'type' ||
    (node.specifiers?.length > 0 &&
      node.specifiers.every((s) => s.importKind === 'type' || s.exportKind === 'type'));
  const fromSource = (node) => {
    if (node.source && typeof node.source.value === 'string')
      check(node.source, node.source.value, typeOnly(node));
  };
  return {
    ImportDeclaration: fromSource,
    ExportNamedDeclaration: fromSource,
    ExportAllDeclaration: fromSource,
    ImportExpression(node) {
      if (node.source.type === 'Literal' && typeof node.source.value === 'string')
        check(node.source, node.source.value, false);
    },
  };
}

const layers = {
  meta: {
    type: 'problem',
    docs: {
      description: 'package layering: who may import whom (scripts/lint/layers.js, docs/architecture.md)',
    },
    schema: [],
  },
  create(context) {
    const rel = posix(relative(ROOT, context.filename));
    const own = packageOf(rel);
    const test = isTestSupport(rel);
    const where = test ? 'test code' : 'production code';
    return eachImport((node, specifier) => {
      if (specifier.startsWith('.')) {
        const target = posix(relative(ROOT, resolve(dirname(context.filename), specifier)));
        if (own && packageOf(target) !== own) {
          context.report({
            node,
            message: `'${specifier}' reaches into another directory than packages/${own}; import the package by its name and an exported entry point`,
          });
        } else if (!test && isTestSupport(target)) {
          context.report({ node, message: `production code may not import test support ('${specifier}')` });
        }
        return;
      }
      if (own && !test && TEST_RUNNERS.some((re) => re.test(specifier))) {
        context.report({
          node,
          message: `'${specifier}' is for tests: test support goes in packages/${own}/src/testing/ (the package's ./testing subpath), tests in *.test.ts`,
        });
        return;
      }
      if (!specifier.startsWith(SCOPE)) return;
      const [name, ...rest] = specifier.slice(SCOPE.length).split('/');
      const subpath = rest.length ? `./${rest.join('/')}` : '.';
      const target = manifest(join(ROOT, 'packages', name));
      if (!target) {
        context.report({ node, message: `no workspace package packages/${name}` });
        return;
      }
      const exported = typeof target.exports === 'object' ? Object.keys(target.exports) : ['.'];
      if (!exported.includes(subpath)) {
        context.report({
          node,
          message: `'${specifier}' is not an entry point of ${SCOPE}${name} (exports: ${exported.join(', ')})`,
        });
        return;
      }
      if (!test && (name === 'testkit' || rest[0] === 'testing')) {
        context.report({ node, message: `production code may not import test support ('${specifier}')` });
        return;
      }
      if (!own || name === own) return;
      const layer = LAYERS[own];
      if (!layer) {
        context.report({ node, message: `packages/${own} has no entry in scripts/lint/layers.js` });
        return;
      }
      const allowed = test ? [...layer.uses, ...(layer.testUses ?? []), 'testkit'] : layer.uses;
      if (!allowed.includes(name)) {
        context.report({
          node,
          message:
            `${where} of ${SCOPE}${own} may not import ${SCOPE}${name} ` +
            `(allowed: ${allowed.join(', ') || 'no workspace package'}; see docs/architecture.md)`,
        });
      }
    });
  },
};

const declaredDependencies = {
  meta: {
    type: 'problem',
    docs: { description: "every imported package is declared in the importer's package.json" },
    schema: [],
  },
  create(context) {
    const rel = posix(relative(ROOT, context.filename));
    const own = packageOf(rel);
    const test = isTestSupport(rel);
    const root = manifest(ROOT);
    const pkg = own ? manifest(join(ROOT, 'packages', own)) : undefined;
    const prod = new Set(
      Object.keys({ ...pkg?.dependencies, ...pkg?.optionalDependencies, ...pkg?.peerDependencies }),
    );
    const dev = new Set(Object.keys(pkg?.devDependencies ?? {}));
    const tooling = new Set(Object.keys({ ...root.dependencies, ...root.devDependencies }));
    return eachImport((node, specifier, typeOnly) => {
      if (specifier.startsWith('.') || specifier.startsWith('node:') || BUILTINS.has(specifier)) return;
      const name = packageNameOf(specifier);
      if (pkg && name === pkg.name) return; // a package may import its own entry points
      if (!own) {
        // bench, scripts, examples and config files: the root's tooling and any workspace package
        if (tooling.has(name) || name.startsWith(SCOPE)) return;
      } else if (prod.has(name) || ((test || typeOnly) && dev.has(name)) || (test && tooling.has(name))) {
        return;
      }
      const list = own ? `packages/${own}/package.json` : 'package.json';
      const hint =
        own && !test && dev.has(name) ? ' (it is a devDependency; production code needs a dependency)' : '';
      context.report({ node, message: `'${name}' is not declared in ${list}${hint}` });
    });
  },
};

export default { rules: { layers, 'declared-dependencies': declaredDependencies } };
