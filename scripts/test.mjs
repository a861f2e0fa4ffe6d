// Runs the test suites with node's test runner (TypeScript through tsx).
//   node scripts/test.mjs            all suites: unit, integration, e2e
//   node scripts/test.mjs unit       *.test.ts under packages/*/src
//   node scripts/test.mjs integration *.test.ts under packages/*/test
//   node scripts/test.mjs e2e        *.e2e.ts under e2e/ (headless Chromium)
// Extra arguments after the suite name filter files by substring.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const suites = {
  unit: { roots: ['packages'], match: (p) => p.includes('/src/') && p.endsWith('.test.ts'), concurrency: 2 },
  integration: { roots: ['packages'], match: (p) => p.includes('/test/') && p.endsWith('.test.ts'), concurrency: 1 },
  e2e: { roots: ['e2e'], match: (p) => p.endsWith('.e2e.ts'), concurrency: 1 },
};

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

const [which, ...filters] = process.argv.slice(2);
const names = which ? [which] : Object.keys(suites);
let failed = false;
for (const name of names) {
  const suite = suites[name];
  if (!suite) {
    console.error(`unknown suite "${name}"; expected one of ${Object.keys(suites).join(', ')}`);
    process.exit(2);
  }
  const files = suite.roots
    .flatMap((root) => walk(root))
    .filter(suite.match)
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
    .sort();
  if (files.length === 0) {
    console.error(`suite ${name}: no test files found`);
    failed = true;
    continue;
  }
  console.log(`\n== ${name}: ${files.length} file(s)`);
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${suite.concurrency}`, '--test-reporter=spec', ...files],
    { stdio: 'inherit', env: { ...process.env, PARLEY_TEST_SUITE: name } },
  );
  if (result.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
