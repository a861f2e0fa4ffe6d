import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** The @parley/server package folder, found upwards from this module (src/http/ under tsx, dist/ when bundled). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'public'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the @parley/server package folder');
    dir = parent;
  }
  return dir;
}

const ROOT = packageRoot();
const PUBLIC_DIR = join(ROOT, 'public') + sep;
const SDK_DIR = join(ROOT, '..', 'sdk', 'dist') + sep;
/** Built apps (vite): the visitor widget (loader, frame app, demo shop page) and the agent workspace. */
const WIDGET_DIR = join(ROOT, '..', '..', 'apps', 'widget', 'dist') + sep;
const AGENT_DIR = join(ROOT, '..', '..', 'apps', 'agent', 'dist') + sep;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
};

/**
 * The Content-Security-Policy of a page. No inline script anywhere: chat text can never become code. Pages
 * connect only to this server (its HTTP and WebSocket origins) and to `connectTo` (e.g. Janus for browsers).
 */
function cspWith(frameAncestors: string, connectTo: readonly string[]): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob: mediastream:",
    `connect-src 'self' ${connectTo.join(' ')}`.trimEnd(),
    frameAncestors,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
}

async function sendFile(reply: FastifyReply, path: string, cache: string) {
  try {
    const body = await readFile(path);
    return reply
      .header('Content-Type', TYPES[extname(path)] ?? 'application/octet-stream')
      .header('Cache-Control', cache)
      .header('X-Content-Type-Options', 'nosniff')
      .send(body);
  } catch {
    return reply.code(404).send({ code: 'not_found', message: 'no such file' });
  }
}

/** The WebSocket twins of http(s) origins: what a page of this server connects to besides 'self'. */
export function webSocketOrigins(origins: readonly string[]): string[] {
  return origins.map((origin) => origin.replace(/^http/, 'ws'));
}

function pageWith(reply: FastifyReply, path: string, csp: string) {
  reply.header('Content-Security-Policy', csp).header('Referrer-Policy', 'strict-origin-when-cross-origin');
  return sendFile(reply, path, 'no-cache');
}

/** The built app's file when it exists, else the plain page from public/. */
function appOr(appFile: string, fallback: string): string {
  return existsSync(appFile) ? appFile : `${PUBLIC_DIR}${fallback}`;
}

/** A path below `root` for a request path, or null when it would leave `root`. */
function inside(root: string, rel: string): string | null {
  const clean = normalize(rel);
  if (clean.startsWith('..') || clean.includes(`${sep}..`) || clean.startsWith(sep)) return null;
  return `${root}${clean}`;
}

/**
 * Pages, apps, static assets and the SDK bundle.
 * - `/` demo shop with the widget; `/widget.js` the loader; `/widget/*` the widget's frame app, which only the
 *   allowed origins may embed (CSP frame-ancestors); `/agent` and `/agent/*` the agent workspace; `/guest` the page a
 *   guest's invitation link opens (its script and styles under `/static/`).
 */
export function registerPages(
  app: FastifyInstance,
  allowedOrigins: () => readonly string[],
  connectTo: () => readonly string[],
): void {
  const pageCsp = () => cspWith("frame-ancestors 'self'", connectTo());
  const page = (reply: FastifyReply, path: string, csp = pageCsp()) => pageWith(reply, path, csp);
  app.get('/', (_request, reply) => page(reply, appOr(`${WIDGET_DIR}demo.html`, 'index.html')));
  app.get('/agent', (_request, reply) => page(reply, appOr(`${AGENT_DIR}index.html`, 'agent.html')));
  // A guest's invitation link opens here; the token rides in the fragment, so it never reaches this route.
  app.get('/guest', (_request, reply) => page(reply, `${PUBLIC_DIR}guest.html`));
  app.get<{ Params: { '*': string } }>('/agent/*', (request, reply) => {
    const path = inside(AGENT_DIR, request.params['*']);
    if (path === null) return reply.code(404).send({ code: 'not_found', message: 'no such file' });
    return path.endsWith('.html') ? page(reply, path) : sendFile(reply, path, 'public, max-age=3600');
  });
  // The loader runs on other sites: served like any cross-origin script, cached briefly.
  app.get('/widget.js', (_request, reply) => sendFile(reply, `${WIDGET_DIR}widget.js`, 'public, max-age=300'));
  app.get<{ Params: { '*': string } }>('/widget/*', (request, reply) => {
    const path = inside(`${WIDGET_DIR}widget/`, request.params['*']);
    if (path === null) return reply.code(404).send({ code: 'not_found', message: 'no such file' });
    if (!path.endsWith('.html')) return sendFile(reply, path, 'public, max-age=3600');
    return page(reply, path, cspWith(`frame-ancestors 'self' ${allowedOrigins().join(' ')}`, connectTo()));
  });
  app.get<{ Params: { '*': string } }>('/static/*', (request, reply) => {
    const path = inside(PUBLIC_DIR, request.params['*']);
    if (path === null) return reply.code(404).send({ code: 'not_found', message: 'no such file' });
    return path.endsWith('.html') ? page(reply, path) : sendFile(reply, path, 'no-cache');
  });
  // The SDK works on any allowed site: served cross-origin like any script.
  app.get('/sdk/parley.js', (_request, reply) => sendFile(reply, `${SDK_DIR}parley.js`, 'no-cache'));
  app.get('/sdk/parley.js.map', (_request, reply) => sendFile(reply, `${SDK_DIR}parley.js.map`, 'no-cache'));
}
