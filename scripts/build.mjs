// Builds what runs outside the TypeScript loader: the server CLI bundle (Node) and the SDK
// (one IIFE for the script tag, defining window.Parley, plus an ESM build). Fast enough to run on every start.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';

const serverPkg = JSON.parse(readFileSync('packages/server/package.json', 'utf8'));
const external = [
  ...Object.keys(serverPkg.dependencies ?? {}),
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
];

const started = Date.now();
await Promise.all([
  build({
    entryPoints: ['packages/server/src/cli.ts'],
    outfile: 'packages/server/dist/cli.js',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external,
    sourcemap: true,
    logLevel: 'warning',
  }),
  build({
    entryPoints: ['packages/sdk/src/global.ts'],
    outfile: 'packages/sdk/dist/parley.js',
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2020',
    minify: true,
    sourcemap: true,
    logLevel: 'warning',
  }),
  build({
    entryPoints: ['packages/sdk/src/index.ts'],
    outfile: 'packages/sdk/dist/index.js',
    bundle: true,
    platform: 'neutral',
    format: 'esm',
    target: 'es2020',
    sourcemap: true,
    logLevel: 'warning',
  }),
]);
if (!process.env.CI || process.env.PARLEY_BUILD_VERBOSE) {
  console.log(`parley: built server and SDK in ${Date.now() - started} ms`);
}
