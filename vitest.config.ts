import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure, fast, no engine) and `integration` (real Docker engine, real sockets).
// Integration files are named *.int.test.ts; each uses unique resource names so files may run in parallel.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'bench/**/*.test.ts', 'scripts/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
          testTimeout: 20_000,
        },
      },
      {
        // The web UI's component tests: React in happy-dom (a DOM in Node), JSX by esbuild.
        esbuild: { jsx: 'automatic' },
        test: {
          name: 'web',
          include: ['packages/web/src/**/*.test.tsx'],
          exclude: ['**/node_modules/**'],
          environment: 'happy-dom',
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['packages/*/src/**/*.int.test.ts'],
          exclude: ['**/node_modules/**'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
