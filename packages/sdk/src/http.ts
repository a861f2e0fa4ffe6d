import { ParleyError } from './errors.ts';
import type { ErrorBody, ErrorCode, HistoryResponse } from './wire.ts';

/** The `fetch` the SDK uses; injectable for tests and unusual environments. */
export type FetchFunction = (input: string, init?: RequestInit) => Promise<Response>;

/** Where a server lives, derived once from the `server` option. */
export interface ServerAddress {
  /** `https://host[:port][/prefix]`, no trailing slash. Also the storage namespace. */
  base: string;
  /** The WebSocket endpoint, `wss://host[:port][/prefix]/ws`. */
  websocket: string;
}

/** Parses the `server` option (`https://chat.example.com`, with or without a trailing slash). */
export function serverAddress(server: string): ServerAddress {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw ParleyError.invalid(`server must be an absolute http(s) URL, got "${server}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw ParleyError.invalid(`server must be an http(s) URL, got "${server}"`);
  }
  const base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  const websocket = `${url.protocol === 'https:' ? 'wss:' : 'ws:'}//${url.host}${url.pathname.replace(/\/+$/, '')}/ws`;
  return { base, websocket };
}

/** The server's HTTP API: JSON in, JSON out, `{code, message}` errors turned into ParleyError. */
export class HttpClient {
  /** Bearer token sent with every request once known. */
  token: string | null = null;

  constructor(
    private readonly base: string,
    private readonly fetchImpl: FetchFunction = (input, init) => globalThis.fetch(input, init),
    private readonly timeoutMs = 15_000,
  ) {}

  /** `POST path` with a JSON body. */
  post<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>('POST', path, body);
  }

  /** `GET path`. */
  get<T>(path: string): Promise<T> {
    return this.send<T>('GET', path, undefined);
  }

  /** One page of a conversation's history, oldest first. */
  history(sessionID: string, query: { before?: number; after?: number; limit: number }): Promise<HistoryResponse> {
    const params = new URLSearchParams({ limit: String(query.limit) });
    if (query.before !== undefined) params.set('before', String(query.before));
    if (query.after !== undefined) params.set('after', String(query.after));
    return this.get<HistoryResponse>(`/api/conversations/${encodeURIComponent(sessionID)}/messages?${params}`);
  }

  private async send<T>(method: string, path: string, body: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.timeoutMs);
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.base}${path}`, {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
        signal: abort.signal,
      });
    } catch (err) {
      if (abort.signal.aborted) throw ParleyError.timeout(`${method} ${path} got no answer within ${this.timeoutMs} ms`);
      throw ParleyError.unavailable(`${method} ${path} failed: the server cannot be reached`, err);
    } finally {
      clearTimeout(timer);
    }
    const payload: unknown = await response.json().catch(() => null);
    if (!response.ok) throw errorFromResponse(response.status, payload);
    return payload as T;
  }
}

function errorFromResponse(status: number, payload: unknown): ParleyError {
  const body = payload as Partial<ErrorBody> | null;
  if (body && typeof body.code === 'string' && typeof body.message === 'string') {
    return ParleyError.fromBody(body as ErrorBody);
  }
  const code: ErrorCode =
    status === 401 ? 'unauthorized' : status === 403 ? 'forbidden' : status === 404 ? 'not_found' : status === 429 ? 'rate_limited' : status >= 500 ? 'unavailable' : 'invalid_frame';
  return new ParleyError(code, `the server answered HTTP ${status}`);
}
