import { parentPort, workerData } from 'node:worker_threads';
import type { ChatFleet, FleetPlan } from './fleet.ts';
import { ParleyFleet } from './parleyFleet.ts';
import { RelayFleet } from './relayFleet.ts';
import type { PhaseExtras, ThreadCommand, ThreadReply, ThreadResults } from './threadMessages.ts';
import { runLatency, runThroughput, type PhaseResult } from './workload.ts';

/*
 * Entry of one load-generator thread: builds its fleet from the plan in `workerData` and runs the
 * coordinator's commands one at a time.
 */

const port = parentPort;
if (!port) throw new Error('loadWorker runs as a worker thread');
const plan = workerData as FleetPlan;
const fleet: ChatFleet = plan.target === 'parley' ? new ParleyFleet(plan) : new RelayFleet(plan);

port.on('message', (command: ThreadCommand) => {
  execute(command).then(
    (result) => {
      const reply: ThreadReply = { type: 'done', command: command.type, result };
      const transfer = result && 'latencies' in result ? [result.latencies.buffer] : [];
      port.postMessage(reply, transfer as ArrayBuffer[]);
    },
    (error: unknown) => {
      const reply: ThreadReply = { type: 'failed', command: command.type, message: error instanceof Error ? error.message : String(error) };
      port.postMessage(reply);
    },
  );
});

/** A phase's result with the fleet's error frames and, where it has seqs, the order of what it heard during the phase. */
function withExtras(result: PhaseResult): PhaseResult & PhaseExtras {
  const order = fleet.takeOrder?.();
  return { ...result, errors: fleet.errors.count, firstError: fleet.errors.first, ...(order ? { order } : {}) };
}

async function execute(command: ThreadCommand): Promise<ThreadResults[ThreadCommand['type']]> {
  switch (command.type) {
    case 'prepare':
      await fleet.prepare();
      return null;
    case 'connect':
      await fleet.connect();
      return null;
    case 'startChats':
      await fleet.startChats();
      return null;
    case 'goOnline':
      await fleet.goOnline();
      return null;
    case 'throughput':
      return withExtras(await runThroughput(fleet, command));
    case 'latency':
      return withExtras(await runLatency(fleet, command));
    case 'close':
      await fleet.close();
      return null;
  }
}
