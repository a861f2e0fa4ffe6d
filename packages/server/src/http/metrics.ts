import { BlockList } from 'node:net';
import type { CallState } from '@parley/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import client from 'prom-client';
import { sendError } from './api.ts';

/*
 * GET /metrics: one node's figures in the Prometheus text format (docs/metrics.md says what each means).
 *
 * Each server has its own registry, never prom-client's global one, so servers started in one process keep their
 * figures apart. What the node counts itself (messages stored, frames received, bus round trips) lives in that
 * registry; what other parts already know (connections, the bus's totals, the store's health) and what only the
 * store knows (open conversations, live calls) is asked for at scrape time, each source within a time limit, so a
 * hung database never holds /metrics: a source that fails or does not answer in time is left out of that scrape
 * and counted, and the rest is served.
 *
 * prom-client's collectDefaultMetrics is not used: each call starts an event-loop delay monitor and a GC
 * observer that are never stopped and keep its registry alive, so every server started and stopped in one process
 * would leave them behind.
 */

/** The bus's figures: its running totals since it started, and its last measured round trip. */
export interface BusFigures {
  connected: boolean;
  /** The last round trip measured to the bus and back (ms), null before the first. */
  roundTripMs: number | null;
  published: number;
  received: number;
  /** Frames lost: publishes that failed, and frames a receiver found missing (by a seq gap) and read from the store. */
  dropped: number;
}

/** The store's figures: whether it answers, and how many of its operations failed since the node started (the scrape's own reads included). */
export interface StoreFigures {
  healthy: boolean;
  errors: number;
}

/** Where the figures come from. A source that throws (or, when async, does not answer in time) is left out. */
export interface MetricSources {
  nodeId: string;
  /** This node's version, shown by `parley_node_info`. */
  version: string;
  /** Open WebSocket connections on this node. */
  connections(): number;
  /** Open conversations of the whole deployment, from the store. Not answering in time counts as a store error. */
  openConversations(): Promise<{ queued: number; active: number }>;
  /** Live calls of the whole deployment by state, from the store. Not answering in time counts as a store error. */
  callsByState(): Promise<Record<string, number>>;
  bus(): BusFigures;
  store(): StoreFigures;
}

export interface MetricsOptions {
  /** How long an async source may take before it is left out of the scrape (ms). Default 2000. */
  sourceTimeoutMs?: number;
  /** Told of each source that failed or timed out (to log it). */
  onSourceError?: (source: SourceName, err: unknown) => void;
}

export type SourceName = 'connections' | 'conversations' | 'calls' | 'bus' | 'store';
const SOURCES: readonly SourceName[] = ['connections', 'conversations', 'calls', 'bus', 'store'];
/** The states of a live call, each shown even when no call is in it. */
const LIVE_CALL_STATES = ['requested', 'invited', 'connecting', 'active'] as const satisfies readonly CallState[];
/** Round trips to the bus (seconds): Redis on a LAN answers in well under a millisecond; a second is trouble. */
const ROUND_TRIP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

type Outcome<T> = { ok: true; value: T } | { ok: false; timedOut: boolean };

/** A source that took longer than its time limit. */
export class MetricsSourceTimeout extends Error {
  override readonly name = 'MetricsSourceTimeout';
}

/** One node's metrics: counters the node feeds, sources read at each scrape, and {@link text} for /metrics. */
export class Metrics {
  readonly #sources: MetricSources;
  readonly #timeoutMs: number;
  readonly #onSourceError: (source: SourceName, err: unknown) => void;
  readonly #registry = new client.Registry();
  /** A source's read still under way: the next scrape waits for it rather than asking a hung source again. */
  readonly #inFlight = new Map<SourceName, Promise<unknown>>();
  /** The last running total seen of each counter that follows one. */
  readonly #followed = new Map<client.Counter, number>();

  readonly #nodeInfo = this.#gauge('parley_node_info', 'Always 1; its labels name the node and its version.', ['version']);
  readonly #messagesStored = this.#counter('parley_messages_stored_total', 'Messages this node stored, by kind (text, or a conversation or call event).', ['kind']);
  readonly #framesReceived = this.#counter('parley_client_frames_received_total', 'Frames this node received from its WebSocket clients.');
  readonly #busRoundTrip = new client.Histogram({
    name: 'parley_bus_round_trip_seconds',
    help: 'Round trips measured from this node to the bus and back.',
    buckets: ROUND_TRIP_BUCKETS,
    registers: [this.#registry],
  });
  readonly #busPublished = this.#counter('parley_bus_frames_published_total', 'Frames this node published on the bus.');
  readonly #busReceived = this.#counter('parley_bus_frames_received_total', 'Frames this node received from the bus.');
  readonly #busDropped = this.#counter('parley_bus_frames_dropped_total', 'Bus frames lost to or by this node: publishes that failed, and frames found missing (then read from the store).');
  readonly #storeErrors = this.#counter('parley_store_errors_total', 'Store operations that failed on this node, or that a scrape gave up waiting for.');
  readonly #sourceErrors = this.#counter('parley_metrics_source_errors_total', 'Scrapes that left out a source because it failed or did not answer in time.', ['source']);

  /** The Content-Type of {@link text}. */
  readonly contentType: string = this.#registry.contentType;

  constructor(sources: MetricSources, options: MetricsOptions = {}) {
    this.#sources = sources;
    this.#timeoutMs = options.sourceTimeoutMs ?? 2000;
    this.#onSourceError = options.onSourceError ?? (() => undefined);
    this.#registry.setDefaultLabels({ node: sources.nodeId });
    this.#nodeInfo.set({ version: sources.version }, 1);
    // Every labelled series exists from the start, so a rate over it has a beginning.
    this.#messagesStored.inc({ kind: 'text' }, 0);
    this.#messagesStored.inc({ kind: 'event' }, 0);
    for (const source of SOURCES) this.#sourceErrors.inc({ source }, 0);
  }

  /** A message was stored: `text` for what a party wrote, `event` for a conversation or call event. */
  messageStored(kind: 'text' | 'event'): void {
    this.#messagesStored.inc({ kind });
  }

  /** A frame came in from a WebSocket client. */
  frameReceived(): void {
    this.#framesReceived.inc();
  }

  /** A round trip to the bus was measured (ms). */
  observeBusRoundTrip(ms: number): void {
    if (Number.isFinite(ms) && ms >= 0) this.#busRoundTrip.observe(ms / 1000);
  }

  /** The scrape: every source read at once, each within the time limit; what failed is left out. */
  async text(): Promise<string> {
    const s = this.#sources;
    const [connections, conversations, calls, bus, store] = await Promise.all([
      this.#read('connections', () => s.connections()),
      this.#read('conversations', () => s.openConversations()),
      this.#read('calls', () => s.callsByState()),
      this.#read('bus', () => s.bus()),
      this.#read('store', () => s.store()),
    ]);
    // A store read that failed is the store's to count (store().errors); one that never answered, nobody else sees.
    for (const read of [conversations, calls]) if (!read.ok && read.timedOut) this.#storeErrors.inc();

    const scrape = new client.Registry();
    scrape.setDefaultLabels({ node: s.nodeId });
    const add = (metrics: client.Metric[]) => {
      for (const m of metrics) scrape.registerMetric(m);
    };
    add([this.#nodeInfo]);
    this.#include(add, 'connections', connections, (n) => [this.#snapshot('parley_connections', 'Open WebSocket connections on this node.', [[{}, n]])]);
    this.#include(add, 'conversations', conversations, (c) => [
      this.#snapshot('parley_conversations', 'Open conversations of the whole deployment, by status (queued, active).', [
        [{ status: 'queued' }, c.queued],
        [{ status: 'active' }, c.active],
      ], ['status']),
    ]);
    this.#include(add, 'calls', calls, (byState) => {
      const states = new Map<string, number>(LIVE_CALL_STATES.map((state) => [state, 0]));
      for (const [state, count] of Object.entries(byState)) states.set(state, count);
      const samples = [...states].map(([state, count]): Sample => [{ state }, count]);
      return [this.#snapshot('parley_calls', 'Live calls of the whole deployment, by state.', samples, ['state'])];
    });
    add([this.#messagesStored, this.#framesReceived]);
    this.#include(add, 'bus', bus, (b) => {
      const shown: client.Metric[] = [this.#snapshot('parley_bus_connected', '1 while this node is connected to the bus, 0 otherwise.', [[{}, b.connected ? 1 : 0]])];
      if (b.roundTripMs !== null) {
        shown.push(this.#snapshot('parley_bus_last_round_trip_seconds', 'The last round trip measured from this node to the bus and back.', [[{}, b.roundTripMs / 1000]]));
      }
      this.#follow([
        [this.#busPublished, b.published],
        [this.#busReceived, b.received],
        [this.#busDropped, b.dropped],
      ]);
      return [...shown, this.#busPublished, this.#busReceived, this.#busDropped];
    });
    add([this.#busRoundTrip]);
    this.#include(add, 'store', store, (st) => {
      this.#follow([[this.#storeErrors, st.errors]]);
      return [this.#snapshot('parley_store_up', '1 while the store answers this node, 0 otherwise.', [[{}, st.healthy ? 1 : 0]])];
    });
    add([this.#storeErrors, this.#sourceErrors]);
    return scrape.metrics();
  }

  /** Reads a source within the time limit; a read still under way from an earlier scrape is waited for, not repeated. */
  async #read<T>(source: SourceName, read: () => T | Promise<T>): Promise<Outcome<T>> {
    let pending = this.#inFlight.get(source) as Promise<T> | undefined;
    if (pending === undefined) {
      const started = Promise.resolve().then(read);
      const done = () => {
        if (this.#inFlight.get(source) === started) this.#inFlight.delete(source);
      };
      started.then(done, done);
      this.#inFlight.set(source, started);
      pending = started;
    }
    try {
      return { ok: true, value: await withTimeout(pending, this.#timeoutMs, source) };
    } catch (err) {
      this.#failed(source, err);
      return { ok: false, timedOut: err instanceof MetricsSourceTimeout };
    }
  }

  /** Adds what a source's figures show, unless the source failed or its figures cannot be shown (then it counts as failed). */
  #include<T>(add: (metrics: client.Metric[]) => void, source: SourceName, outcome: Outcome<T>, show: (value: T) => client.Metric[]): void {
    if (!outcome.ok) return;
    let metrics: client.Metric[];
    try {
      metrics = show(outcome.value);
    } catch (err) {
      this.#failed(source, err);
      return;
    }
    add(metrics);
  }

  #failed(source: SourceName, err: unknown): void {
    this.#sourceErrors.inc({ source });
    try {
      this.#onSourceError(source, err);
    } catch {
      // A listener's failure must not fail the scrape.
    }
  }

  /**
   * Moves counters on by what the running totals a source gave grew since the last scrape (by all of a total that
   * went down: its source restarted). Nothing moves when one of them is not a running total.
   */
  #follow(totals: Array<[counter: client.Counter, total: number]>): void {
    for (const [, total] of totals) {
      if (!Number.isFinite(total) || total < 0) throw new TypeError(`${total} is not a running total`);
    }
    for (const [counter, total] of totals) {
      const last = this.#followed.get(counter) ?? 0;
      const grown = total >= last ? total - last : total;
      if (grown > 0) counter.inc(grown);
      this.#followed.set(counter, total);
    }
  }

  /** A gauge of this scrape only, holding what a source said; it throws (before it is shown) on a value that is not a number. */
  #snapshot(name: string, help: string, samples: Sample[], labelNames: string[] = []): client.Gauge {
    const gauge = new client.Gauge({ name, help, labelNames, registers: [] });
    for (const [labels, value] of samples) {
      if (!Number.isFinite(value)) throw new TypeError(`${name}: ${value} is not a number`);
      gauge.set(labels, value);
    }
    return gauge;
  }

  #gauge(name: string, help: string, labelNames: string[] = []): client.Gauge {
    return new client.Gauge({ name, help, labelNames, registers: [this.#registry] });
  }

  #counter(name: string, help: string, labelNames: string[] = []): client.Counter {
    return new client.Counter({ name, help, labelNames, registers: [this.#registry] });
  }
}

type Sample = [labels: Record<string, string>, value: number];

function withTimeout<T>(promise: Promise<T>, ms: number, source: SourceName): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new MetricsSourceTimeout(`${source} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

export interface MetricsRouteOptions {
  /**
   * Addresses besides loopback that may scrape, given `request.ip` (the client behind a trusted proxy, the peer
   * otherwise; possibly IPv4-mapped IPv6), e.g. `new ProxyTrust(entries).isTrusted` for a METRICS_ALLOW list of
   * addresses and CIDRs. Default: loopback only.
   */
  allow?: (ip: string) => boolean;
}

/**
 * GET /metrics, for loopback and the addresses `allow` accepts; anyone else gets 403 `forbidden`. A request that
 * came through a proxy the server does not trust (it carries X-Forwarded-For or Forwarded, and the address judged
 * is still the proxy's own) is refused too: a balancer on this machine must not open /metrics to its clients.
 */
export function registerMetrics(app: FastifyInstance, metrics: Metrics, options: MetricsRouteOptions = {}): void {
  const allow = options.allow ?? (() => false);
  app.get('/metrics', async (request, reply) => {
    if (!mayScrape(request, allow)) {
      return sendError(reply, 'forbidden', '/metrics answers only to loopback and the addresses METRICS_ALLOW names');
    }
    const body = await metrics.text();
    return reply.header('content-type', metrics.contentType).header('cache-control', 'no-store').send(body);
  });
}

function mayScrape(request: FastifyRequest, allow: (ip: string) => boolean): boolean {
  const forwarded = request.headers['x-forwarded-for'] !== undefined || request.headers.forwarded !== undefined;
  if (forwarded && request.ip === request.socket.remoteAddress) return false;
  return isLoopback(request.ip) || allow(request.ip);
}

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** 127.0.0.0/8 and ::1, IPv4-mapped IPv6 included. */
export function isLoopback(address: string): boolean {
  return loopback.check(address, address.includes(':') ? 'ipv6' : 'ipv4');
}
