import { performance } from 'node:perf_hooks';
import type { ChatFleet } from './fleet.ts';
import { chatText } from './fleet.ts';

/*
 * The two measured phases, run by each load-generator thread over its fleet.
 *
 * Throughput: a closed loop. Every conversation keeps `window` messages in flight and sends the next as
 * soon as one is delivered; deliveries are counted over `durationMs` after a warm-up.
 *
 * Latency: an open loop at a fixed offered rate. Sends are scheduled evenly in time, round-robin over the
 * conversations, and each latency is measured from the *scheduled* send time, so a load generator or a
 * server that falls behind shows up in the figures instead of hiding (no coordinated omission).
 */

/** How long a phase waits after its end for messages still in flight. */
const DRAIN_MS = 5_000;

/** What one thread measured in one phase. */
export interface PhaseResult {
  /** Messages delivered inside the measured interval. */
  delivered: number;
  /** Length of the measured interval, in ms. */
  measuredMs: number;
  /** Messages sent during the whole phase. */
  sent: number;
  /** Messages never delivered, even after draining. */
  lost: number;
  /** Latency of each message delivered in the measured interval, in ms. */
  latencies: Float64Array;
  /** Event-loop utilisation of this thread over the phase (1 = never idle). */
  eventLoopUtilisation: number;
  /** Latency phase only: how late the sender got, at worst, behind its schedule (ms). */
  maxSendLagMs: number;
}

/** Runs the closed-loop throughput phase. */
export async function runThroughput(fleet: ChatFleet, options: { warmupMs: number; durationMs: number; window: number }): Promise<PhaseResult> {
  const sentAt = new Map<string, number>();
  const latencies = new SampleBuffer();
  const counters = new Array<number>(fleet.conversations).fill(0);
  const elu0 = performance.eventLoopUtilization();
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const measureTo = measureFrom + options.durationMs;
  let sending = true;
  let sent = 0;
  let delivered = 0;
  const drained = drainSignal(() => sentAt.size === 0);

  const sendNext = (conversation: number): void => {
    const n = ++counters[conversation]!;
    const clientId = `${conversation}.${n}`;
    sentAt.set(clientId, performance.now());
    sent++;
    fleet.send(conversation, clientId, chatText(n));
  };

  fleet.onDelivered = (conversation, clientId) => {
    const at = sentAt.get(clientId);
    if (at === undefined) return;
    sentAt.delete(clientId);
    const now = performance.now();
    if (now >= measureFrom && now < measureTo) {
      delivered++;
      latencies.push(now - at);
    }
    if (sending) sendNext(conversation);
    else drained.check();
  };

  for (let c = 0; c < fleet.conversations; c++) {
    for (let w = 0; w < options.window; w++) sendNext(c);
  }
  await sleep(measureTo - performance.now());
  sending = false;
  await drained.wait(DRAIN_MS);
  const elu = performance.eventLoopUtilization(elu0);
  fleet.onDelivered = () => undefined;
  return {
    delivered,
    measuredMs: options.durationMs,
    sent,
    lost: sentAt.size,
    latencies: latencies.toArray(),
    eventLoopUtilisation: elu.utilization,
    maxSendLagMs: 0,
  };
}

/** Runs the open-loop latency phase at `rate` messages per second over this fleet's conversations. */
export async function runLatency(fleet: ChatFleet, options: { durationMs: number; rate: number }): Promise<PhaseResult> {
  const scheduledAt = new Map<string, number>();
  const latencies = new SampleBuffer();
  const total = Math.round((options.rate * options.durationMs) / 1000);
  const interval = 1000 / options.rate;
  const elu0 = performance.eventLoopUtilization();
  const start = performance.now() + 20;
  let sent = 0;
  let maxSendLagMs = 0;
  const drained = drainSignal(() => sent === total && scheduledAt.size === 0);

  fleet.onDelivered = (_conversation, clientId) => {
    const at = scheduledAt.get(clientId);
    if (at === undefined) return;
    scheduledAt.delete(clientId);
    latencies.push(performance.now() - at);
    drained.check();
  };

  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) {
        const scheduled = start + sent * interval;
        maxSendLagMs = Math.max(maxSendLagMs, now - scheduled);
        const conversation = sent % fleet.conversations;
        const clientId = `l${sent}`;
        scheduledAt.set(clientId, scheduled);
        sent++;
        fleet.send(conversation, clientId, chatText(sent));
      }
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
      else resolve();
    };
    setTimeout(tick, Math.max(0, start - performance.now()));
  });
  await drained.wait(DRAIN_MS);
  const elu = performance.eventLoopUtilization(elu0);
  fleet.onDelivered = () => undefined;
  return {
    delivered: latencies.length,
    measuredMs: options.durationMs,
    sent,
    lost: scheduledAt.size,
    latencies: latencies.toArray(),
    eventLoopUtilisation: elu.utilization,
    maxSendLagMs,
  };
}

/** A growable array of doubles. */
class SampleBuffer {
  #data = new Float64Array(1 << 16);
  length = 0;

  push(value: number): void {
    if (this.length === this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.length++] = value;
  }

  toArray(): Float64Array {
    return this.#data.slice(0, this.length);
  }
}

/** Resolves `wait` once `done()` holds (re-checked on each `check`), or after the timeout. */
function drainSignal(done: () => boolean): { check: () => void; wait: (timeoutMs: number) => Promise<void> } {
  let wake: (() => void) | null = null;
  return {
    check: () => {
      if (wake && done()) wake();
    },
    wait: (timeoutMs) =>
      new Promise<void>((resolve) => {
        if (done()) return resolve();
        const timer = setTimeout(resolve, timeoutMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      }),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
