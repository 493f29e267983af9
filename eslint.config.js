import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import agenttier from './scripts/lint/plugin.js';

const NO_EXPORT_ALL = {
  selector: 'ExportAllDeclaration',
  message: 'export the names other modules use, not *',
};
const NO_EXPORT_DEFAULT = {
  selector: 'ExportDefaultDeclaration',
  message: 'export by name (the web UI’s lazily loaded components are the one exception)',
};

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'deploy/**', 'images/**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Package layering (scripts/lint/layers.js, drawn in docs/architecture.md) and declared dependencies.
    files: ['**/*.ts', '**/*.tsx', '**/*.js'],
    plugins: { agenttier },
    rules: {
      'agenttier/layers': 'error',
      'agenttier/declared-dependencies': 'error',
    },
  },
  {
    // Small public surfaces: every module names what it exports, so an internal export does not become
    // public (through a package's entry point) by being added to a module.
    files: ['packages/*/src/**/*.ts', 'packages/*/src/**/*.tsx'],
    rules: { 'no-restricted-syntax': ['error', NO_EXPORT_ALL, NO_EXPORT_DEFAULT] },
  },
  {
    // Routes declare what they read from the URL once (routes/route-input.ts) instead of casting, and
    // read a body through its contract schema (a cast would skip the validation).
    files: ['packages/server/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        NO_EXPORT_ALL,
        NO_EXPORT_DEFAULT,
        {
          selector:
            'TSAsExpression > MemberExpression.expression[object.name=/^(req|request)$/][property.name=/^(params|query|body)$/]',
          message:
            'type the route instead (app.get<SandboxRoute>(…) from routes/route-input.ts); parse a body with its contract schema',
        },
      ],
    },
  },
  {
    // Every exit code the CLI returns has a name in EXIT (cli/src/errors.ts): a handler returns
    // EXIT.OK, not 0, so the codes users script against are listed in one place (docs/cli.md).
    files: ['packages/cli/src/**/*.ts'],
    ignores: ['**/*.test.ts', 'packages/cli/src/zip.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        NO_EXPORT_ALL,
        NO_EXPORT_DEFAULT,
        {
          selector: 'ReturnStatement > Literal[raw=/^[0-9]+$/]',
          message: 'return an exit code by its name in EXIT (cli/src/errors.ts), e.g. EXIT.OK',
        },
        {
          selector: "CallExpression[callee.object.name='process'][callee.property.name='exit'] > Literal",
          message: 'exit with a code named in EXIT (cli/src/errors.ts)',
        },
        {
          selector: "AssignmentExpression[left.property.name='exitCode'] > Literal.right",
          message: 'set an exit code named in EXIT (cli/src/errors.ts)',
        },
      ],
    },
  },
  {
    // Integration tests run beside other CPU-heavy work: they wait for a condition (`eventually()` from
    // @agenttier/testkit), never for a fixed time that a loaded machine overruns.
    files: ['packages/*/src/**/*.int.test.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        NO_EXPORT_ALL,
        NO_EXPORT_DEFAULT,
        {
          selector:
            "AwaitExpression > NewExpression[callee.name='Promise'] > ArrowFunctionExpression > CallExpression[callee.name='setTimeout']",
          message: 'wait for the condition, not for a time: eventually() from @agenttier/testkit',
        },
      ],
    },
  },
  {
    // The server opens SQLite one way: SqliteDatabase (server/src/sqlite), which compiles each statement
    // once; a store that calls prepare() per call recompiles on every request.
    files: ['packages/server/src/**/*.ts'],
    ignores: ['packages/server/src/sqlite/sqlite-database.ts', '**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'node:sqlite', message: 'open the file with SqliteDatabase from server/src/sqlite/' },
          ],
        },
      ],
    },
  },
  {
    // The web UI runs in browsers (its e2e tests and build scripts run in Node).
    files: ['packages/web/src/**/*.ts', 'packages/web/src/**/*.tsx'],
    ignores: ['packages/web/src/e2e/**', 'packages/web/src/testing/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // React.lazy() loads a module's default export: the web UI's page and tab components keep theirs.
    files: ['packages/web/src/**/*.tsx'],
    ignores: ['**/*.test.tsx'],
    rules: { 'no-restricted-syntax': ['error', NO_EXPORT_ALL] },
  },
  {
    // The core and the contract are platform-neutral: no engine, Kubernetes or server libraries.
    files: ['packages/core/src/**/*.ts', 'packages/contract/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                'dockerode',
                '@kubernetes/*',
                'fastify',
                'ws',
                'node:*',
                '@agenttier/platform-*',
                '@agenttier/server',
              ],
              message: 'core and contract import no platform library',
            },
          ],
        },
      ],
    },
  },
);
