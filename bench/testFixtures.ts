import type { PhaseFigures } from './figures.ts';

/*
 * Figures for the report tests: a plausible phase from a few numbers that matter to the test.
 */

/** A phase delivering `messagesPerSecond` with that p99, the server's (and PostgreSQL's, other processes') CPU as given. */
export function fakePhase(messagesPerSecond: number, p99Ms: number, cpu: { server: number; database?: number; also?: Record<string, number> }): PhaseFigures {
  return {
    messagesPerSecond,
    p50Ms: p99Ms / 4,
    p99Ms,
    maxMs: p99Ms * 2,
    sent: messagesPerSecond * 10,
    delivered: messagesPerSecond * 10,
    lost: 0,
    errors: 0,
    firstError: null,
    cpu: {
      server: cpu.server,
      loadGenerator: 0.3,
      database: cpu.database ?? 0,
      databaseShared: 0,
      machine: 1.5,
      others: 0.05,
      ...(cpu.also ? { also: cpu.also } : {}),
    },
    database: cpu.database === undefined ? null : { commitsPerSecond: messagesPerSecond / 4, walSyncsPerSecond: messagesPerSecond / 2 },
    threadUtilisation: [0.3, 0.3],
    maxSendLagMs: 1,
  };
}
