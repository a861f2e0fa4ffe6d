import { defineConfig } from 'vite';

/**
 * The agent workspace: one page served by the Parley server under /agent/ (see
 * packages/server/src/http/pages.ts). Preact with the automatic JSX runtime, no inline scripts or
 * styles in the built HTML (the server's CSP forbids them).
 */
export default defineConfig({
  base: '/agent/',
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
