#!/usr/bin/env node
// The `parley` command. The bundle is built by `npm install` (prepare) and `npm start` (prestart).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
if (!existsSync(bundle)) {
  console.error('parley: the server is not built yet. Run `npm run build` in the repository root.');
  process.exit(1);
}
await import(bundle);
