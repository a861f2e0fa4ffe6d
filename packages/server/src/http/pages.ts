import { readFile } from 'node:fs/promises';
import { extname, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

// Resolved from this module, which sits at the same depth in src/ (tsx) and dist/ (bundle).
const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url));
const SDK_DIR = fileURLToPath(new URL('../../../sdk/dist/', import.meta.url));

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

/** No inline script anywhere: chat text can never become code. */
const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob: mediastream:",
  "connect-src 'self' ws: wss:",
  "frame-ancestors 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

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

function page(reply: FastifyReply, file: string) {
  reply.header('Content-Security-Policy', PAGE_CSP).header('Referrer-Policy', 'strict-origin-when-cross-origin');
  return sendFile(reply, `${PUBLIC_DIR}${file}`, 'no-cache');
}

/** Demo pages, static assets and the SDK bundle. */
export function registerPages(app: FastifyInstance): void {
  app.get('/', (_request, reply) => page(reply, 'index.html'));
  app.get('/agent', (_request, reply) => page(reply, 'agent.html'));
  app.get<{ Params: { '*': string } }>('/static/*', (request, reply) => {
    const rel = normalize(request.params['*']);
    if (rel.startsWith('..') || rel.includes(`${sep}..`) || rel.startsWith(sep)) {
      return reply.code(404).send({ code: 'not_found', message: 'no such file' });
    }
    return sendFile(reply, `${PUBLIC_DIR}${rel}`, 'no-cache');
  });
  // The SDK works on any allowed site: served cross-origin like any script.
  app.get('/sdk/parley.js', (_request, reply) => sendFile(reply, `${SDK_DIR}parley.js`, 'no-cache'));
  app.get('/sdk/parley.js.map', (_request, reply) => sendFile(reply, `${SDK_DIR}parley.js.map`, 'no-cache'));
}
