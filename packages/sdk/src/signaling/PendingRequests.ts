import { ParleyError } from '../errors.ts';
import type { RequestType } from '../wire.ts';

interface PendingRequest {
  type: RequestType;
  frame: string;
  sent: boolean;
  timer: ReturnType<typeof setTimeout>;
  resolve: (data: unknown) => void;
  reject: (err: ParleyError) => void;
}

/**
 * The requests of a {@link SignalingChannel} waiting for their `result` or `error`: each has a
 * correlation id, a timeout, and knows whether it went out on the current socket. The channel owns the
 * socket; this only keeps the books and settles each request exactly once.
 */
export class PendingRequests {
  readonly #requests = new Map<string, PendingRequest>();
  #counter = 0;

  /** Registers a request (its frame serialized with a new id); the promise settles on answer, timeout or failure. */
  add<T>(type: RequestType, body: object, timeoutMs: number): { id: string; answer: Promise<T> } {
    const id = `r${++this.#counter}`;
    const answer = new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#requests.delete(id);
        reject(ParleyError.timeout(`${type} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#requests.set(id, {
        type,
        frame: JSON.stringify({ ...body, type, id }),
        sent: false,
        timer,
        resolve: resolve as (data: unknown) => void,
        reject,
      });
    });
    return { id, answer };
  }

  /** True when `id` is a request still waiting for its answer. */
  has(id: string): boolean {
    return this.#requests.has(id);
  }

  /** Hands the frame of request `id` to `send` and marks it sent (nothing for an unknown id). */
  transmit(id: string, send: (frame: string) => void): void {
    const request = this.#requests.get(id);
    if (!request) return;
    request.sent = true;
    send(request.frame);
  }

  /** Hands every request not sent yet to `send`, in the order they were made. */
  transmitUnsent(send: (frame: string) => void): void {
    for (const [id, request] of this.#requests) if (!request.sent) this.transmit(id, send);
  }

  /** The server answered `id` with a result. */
  resolve(id: string, data: unknown): void {
    this.#take(id)?.resolve(data);
  }

  /** The server (or the channel) answered `id` with an error. */
  reject(id: string, error: ParleyError): void {
    this.#take(id)?.reject(error);
  }

  /** Requests already on the dropped socket may or may not have been applied: their callers decide. */
  failSent(): void {
    for (const [id, request] of this.#requests) {
      if (request.sent) this.reject(id, ParleyError.unavailable(`the connection dropped before ${request.type} was answered`));
    }
  }

  /** Fails every request with `reason` (the channel stopped). */
  failAll(reason: ParleyError): void {
    for (const id of [...this.#requests.keys()]) this.reject(id, reason);
  }

  #take(id: string): PendingRequest | undefined {
    const request = this.#requests.get(id);
    if (!request) return undefined;
    clearTimeout(request.timer);
    this.#requests.delete(id);
    return request;
  }
}
