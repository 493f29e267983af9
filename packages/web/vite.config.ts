import { defineConfig } from 'vite';

// The app is served by the router at `/` (packages/server/src/http/web-ui.ts): hashed files under
// assets/ (cached forever there), index.html revalidated. JSX through esbuild (no Babel plugin needed).
export default defineConfig({
  base: '/',
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    manifest: true,
    sourcemap: false,
    target: 'es2022',
    // No inline <script>/<style> anywhere: the page's CSP allows only 'self'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    // The editor chunk (CodeMirror) is big and loads on demand; the first page is checked by
    // scripts/check-bundle-size.js against its own budget.
    chunkSizeWarningLimit: 600,
    rollupOptions: {
      onwarn(warning, warn) {
        // "use client" directives of React libraries mean nothing in a plain SPA bundle.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  server: {
    // `npx vite` during development: the API from a running `agenttier up`.
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/ws': { target: 'ws://127.0.0.1:8080', ws: true },
    },
  },
});
