// Builds what runs outside the TypeScript loader: the server CLI bundle (Node) and the SDK
// (one IIFE for the script tag, defining window.Parley, plus an ESM build). Fast enough to run on every start.
import { build } from 'esbuild';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
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
    target: 'es2022',
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
    target: 'es2022',
    sourcemap: true,
    logLevel: 'warning',
  }),
]);
// The apps (vite): built when their sources or the SDK changed since the last build.
const newest = (dir) => {
  let t = 0;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const path = join(dir, name);
    const st = statSync(path);
    t = Math.max(t, st.isDirectory() ? newest(path) : st.mtimeMs);
  }
  return t;
};
for (const app of ['apps/widget', 'apps/agent']) {
  if (!existsSync(join(app, 'vite.config.ts'))) continue;
  const stamp = join(app, 'dist', '.built');
  const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
  if (built > Math.max(newest(app), newest('packages/sdk/src'), newest('packages/protocol/src'))) continue;
  const { build: viteBuild } = await import('vite');
  await viteBuild({ root: app, configFile: join(app, 'vite.config.ts'), logLevel: 'warn' });
  const { writeFileSync } = await import('node:fs');
  writeFileSync(stamp, new Date().toISOString());
}

if (!process.env.CI || process.env.PARLEY_BUILD_VERBOSE) {
  console.log(`parley: built in ${Date.now() - started} ms`);
}
