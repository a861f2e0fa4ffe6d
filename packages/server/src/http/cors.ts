import type { FastifyInstance } from 'fastify';

/**
 * CORS for the HTTP API: browsers on an allowed origin may call it; any other origin is refused with
 * `forbidden`. Requests without Origin (same-origin GETs, non-browser clients) pass; they still need a token.
 */
export function registerCors(app: FastifyInstance, isAllowedOrigin: (origin: string) => boolean): void {
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin === undefined || !request.url.startsWith('/api/')) return;
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
