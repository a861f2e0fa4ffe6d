import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * CORS for the HTTP API: browsers on an allowed origin may call it; any other origin is refused with
 * `forbidden`. Requests without Origin (same-origin GETs, non-browser clients) pass; they still need a token.
 */
export function registerCors(app: FastifyInstance, isAllowedOrigin: (origin: string) => boolean): void {
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin === undefined || !isApiPath(request)) return;
    if (!isAllowedOrigin(origin)) {
      return reply.code(403).send({ code: 'forbidden', message: `origin ${origin} is not allowed (ALLOWED_ORIGINS)` });
    }
    reply.header('Access-Control-Allow-Origin', origin);
    reply.header('Vary', 'Origin');
    if (request.method === 'OPTIONS') {
      reply.header('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
      reply.header('Access-Control-Allow-Headers', 'Authorization, Content-Type');
      reply.header('Access-Control-Max-Age', '600');
      return reply.code(204).send();
    }
  });
  // Preflight requests need a route to reach the hook above.
  app.options('/api/*', async (_request, reply) => reply.code(204).send());
}

/**
 * Whether the router sent this request to the API. The raw URL is not enough: `/%61pi/visitors` routes to
 * `/api/visitors`. The matched route's pattern says it; an unmatched request is judged on its decoded path.
 */
function isApiPath(request: FastifyRequest): boolean {
  const route = request.routeOptions.url;
  if (route !== undefined) return route.startsWith('/api/');
  const path = request.url.split('?')[0] ?? '';
  try {
    return decodeURIComponent(path).startsWith('/api/');
  } catch {
    return true;
  }
}
