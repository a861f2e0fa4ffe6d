/*
 * The HTTP half of a raw-protocol client: identities and tokens from a Parley server's API, for the
 * integration tests, the e2e specs and the benchmarks. Imports nothing of the server's source.
 */
import { request as httpRequest } from 'node:http';
import type { AgentLoginResponse, CreateVisitorResponse } from '@parley/protocol';

/** POSTs JSON; resolves with the status and the parsed body, whatever the status. */
export async function postJson<T>(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as T };
}

/**
 * POSTs JSON from a given local address (e.g. `127.0.0.2`, to come from another loopback address, which
 * `fetch` cannot do), on a connection of its own that is closed after the answer. Resolves with the status
 * and the parsed body, whatever the status.
 */
export function postJsonFrom<T>(url: string, body: unknown, localAddress: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', localAddress, agent: false, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as T });
        } catch {
          reject(new Error(`POST ${new URL(url).pathname} answered ${res.statusCode} with no JSON: ${text.slice(0, 200)}`));
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** How long a caller waits out `429 rate_limited` answers (sign-ins are limited per IP address). */
export interface Patience {
  /** Keep retrying a 429 for this long (ms). Default 0: a 429 fails at once. */
  whileRateLimitedMs?: number;
}

const RATE_LIMITED_RETRY_MS = 500;

/** POSTs JSON and expects `status`; retries 429s within the patience; throws on any other answer. */
async function expectJson<T>(url: string, body: unknown, status: number, patience: Patience): Promise<T> {
  const deadline = Date.now() + (patience.whileRateLimitedMs ?? 0);
  for (;;) {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status === status) return (await res.json()) as T;
    const text = await res.text();
    if (res.status !== 429 || Date.now() > deadline) throw new Error(`POST ${new URL(url).pathname} answered ${res.status}: ${text}`);
    await new Promise((resolve) => setTimeout(resolve, RATE_LIMITED_RETRY_MS));
  }
}

/** `POST /api/visitors`: a new visitor identity and its token. */
export function createVisitor(baseUrl: string, name?: string, patience: Patience = {}): Promise<CreateVisitorResponse> {
  return expectJson(`${baseUrl}/api/visitors`, name === undefined ? {} : { name }, 201, patience);
}

/** `POST /api/agents/login`: an agent token. */
export function loginAgent(baseUrl: string, email: string, password: string, patience: Patience = {}): Promise<AgentLoginResponse> {
  return expectJson(`${baseUrl}/api/agents/login`, { email, password }, 200, patience);
}
