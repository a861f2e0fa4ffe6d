/*
 * Size budget of what the widget ships, read from the built files (run `npm run build` first; the
 * test suite does). The loader must stay ≤ 12 KB gzip, and everything the demo shop page loads before
 * the visitor interacts (the page, its stylesheet, widget.js) ≤ 20 KB gzip.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const LOADER_BUDGET = 12 * 1024;
const BEFORE_INTERACTION_BUDGET = 20 * 1024;

function built(path: string): Buffer {
  const file = `${DIST}${path}`;
  if (!existsSync(file)) {
    assert.fail(`apps/widget/dist/${path} is missing: run \`npm run build\` before this test (the size budget reads the built files)`);
  }
  return readFileSync(file);
}

const gzipped = (bytes: Buffer): number => gzipSync(bytes, { level: 9 }).length;

/** Where a URL path of the server lives in dist/ (the server maps /widget.js and /widget/* there). */
function distPath(url: string): string {
  if (url === '/widget.js') return 'widget.js';
  if (url.startsWith('/widget/')) return url.slice(1);
  throw new Error(`the demo page loads ${url}, which the server does not serve from apps/widget/dist`);
}

/** Every script and stylesheet the demo page's HTML references. */
function demoAssets(html: string): string[] {
  const urls: string[] = [];
  for (const match of html.matchAll(/<(script|link)\b[^>]*>/g)) {
    const tag = match[0];
    if (tag.startsWith('<link') && !/rel="(stylesheet|modulepreload|preload)"/.test(tag)) continue;
    const url = /\b(?:src|href)="([^"]+)"/.exec(tag)?.[1];
    if (url) urls.push(url);
  }
  return urls;
}

test('the loader (widget.js) is at most 12 KB gzip', () => {
  const size = gzipped(built('widget.js'));
  assert.ok(size > 500, `widget.js is suspiciously small (${size} B gzip): is it the real loader?`);
  assert.ok(size <= LOADER_BUDGET, `widget.js is ${size} B gzip; the budget is ${LOADER_BUDGET} B`);
});

test('the demo page loads at most 20 KB gzip before the visitor interacts, and no chat app', () => {
  const html = built('demo.html');
  const assets = demoAssets(html.toString('utf8'));
  assert.ok(assets.includes('/widget.js'), `demo.html must load the loader; it loads ${assets.join(', ')}`);
  for (const url of assets) {
    assert.ok(!/frame|CallControls/.test(url), `demo.html loads ${url} before any interaction (only the loader may)`);
  }
  const sizes = assets.map((url) => ({ url, size: gzipped(built(distPath(url))) }));
  const total = gzipped(html) + sizes.reduce((n, s) => n + s.size, 0);
  assert.ok(
    total <= BEFORE_INTERACTION_BUDGET,
    `the demo page loads ${total} B gzip before interaction (${sizes.map((s) => `${s.url} ${s.size} B`).join(', ')}); the budget is ${BEFORE_INTERACTION_BUDGET} B`,
  );
});

test('the loader carries no chat app: preact, the SDK and the call UI load only in the frame', () => {
  const loader = built('widget.js').toString('utf8');
  for (const marker of ['connectVisitor', 'requestVideoUpgrade', '__H', 'RTCPeerConnection']) {
    assert.ok(!loader.includes(marker), `widget.js contains ${marker}: the chat app leaked into the loader`);
  }
});
