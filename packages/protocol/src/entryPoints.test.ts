/*
 * The protocol's subpath entry points (`@parley/protocol/call`, `/limits`, `/party`) are what the browser SDK
 * imports values from. They must stay free of zod, which only the main entry point (the schemas) may load.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { exports: Record<string, string> };

/** The modules a file loads at run time (type-only imports are erased, so they do not count). */
function runtimeImports(file: URL): string[] {
  const source = readFileSync(file, 'utf8');
  const specifiers: string[] = [];
  for (const match of source.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s+'([^']+)'/gm)) specifiers.push(match[1]!);
  return specifiers;
}

/** Every package a file reaches at run time, following its relative imports. */
function packagesReached(file: URL, seen = new Set<string>()): Set<string> {
  const reached = new Set<string>();
  if (seen.has(file.href)) return reached;
  seen.add(file.href);
  for (const specifier of runtimeImports(file)) {
    if (specifier.startsWith('.')) for (const p of packagesReached(new URL(specifier, file), seen)) reached.add(p);
    else reached.add(specifier);
  }
  return reached;
}

for (const [subpath, target] of Object.entries(pkg.exports)) {
  if (subpath === '.') continue;
  test(`@parley/protocol${subpath.slice(1)} loads no zod (the browser SDK imports it)`, () => {
    const file = new URL(target, root);
    assert.ok(readFileSync(fileURLToPath(file), 'utf8').length > 0);
    assert.deepEqual([...packagesReached(file)], [], `${target} reaches packages at run time`);
  });
}
