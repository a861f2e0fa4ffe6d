import { fileURLToPath } from 'node:url';
import { build, defineConfig, type Plugin } from 'vite';

/*
 * The visitor widget is built in two parts, to the paths the Parley server serves
 * (packages/server/src/http/pages.ts):
 *   dist/widget.js            the loader: one classic script, no hash, nothing shared (a second build, below)
 *   dist/demo.html            the demo shop page (GET /)
 *   dist/widget/frame.html    the chat app inside the iframe (GET /widget/frame.html)
 *   dist/widget/shop-2.html   the demo shop's second page (GET /widget/shop-2.html)
 *   dist/widget/assets/*      every hashed script and stylesheet (only /widget/* is served)
 * No inline scripts or styles end up in the HTML: the server's CSP forbids them.
 */
const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/** Builds the loader after the pages: a self-contained IIFE at dist/widget.js. */
function loaderBuild(): Plugin {
  return {
    name: 'parley-widget-loader',
    apply: 'build',
    async closeBundle() {
      await build({
        configFile: false,
        root: here('.'),
        logLevel: 'warn',
        build: {
          outDir: 'dist',
          emptyOutDir: false,
          target: 'es2020',
          minify: true,
          sourcemap: false,
          copyPublicDir: false,
          lib: {
            entry: here('src/loader/main.ts'),
            formats: ['iife'],
            name: 'ParleyWidgetLoader',
            fileName: () => 'widget.js',
          },
        },
      });
    },
  };
}

export default defineConfig({
  base: '/',
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
  plugins: [loaderBuild()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    rollupOptions: {
      input: {
        demo: here('demo.html'),
        frame: here('widget/frame.html'),
        shop2: here('widget/shop-2.html'),
      },
      output: {
        entryFileNames: 'widget/assets/[name]-[hash].js',
        chunkFileNames: 'widget/assets/[name]-[hash].js',
        assetFileNames: 'widget/assets/[name]-[hash][extname]',
      },
    },
  },
});
