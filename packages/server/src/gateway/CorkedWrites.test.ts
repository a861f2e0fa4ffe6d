import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { CorkedWrites } from './CorkedWrites.ts';

/** A writable that records how many chunks each system call (write or writev) would carry. */
function recordingSocket(): { socket: Writable; calls: number[]; order: string[] } {
  const calls: number[] = [];
  const order: string[] = [];
  const socket = new Writable({
    write(chunk: Buffer, _encoding, done) {
      calls.push(1);
      order.push(chunk.toString());
      done();
    },
    writev(chunks, done) {
      calls.push(chunks.length);
      for (const { chunk } of chunks) order.push(String(chunk));
      done();
    },
  });
  return { socket, calls, order };
}

describe('CorkedWrites', () => {
  it('sends the frames of one turn to a socket in one write, in order, and holds each socket once', async () => {
    const writes = new CorkedWrites();
    const agent = recordingSocket();
    const visitor = recordingSocket();
    for (const frame of ['a', 'b', 'c']) {
      writes.hold(agent.socket);
      agent.socket.write(frame);
    }
    writes.hold(visitor.socket);
    visitor.socket.write('r');
    assert.equal(writes.held, 2);
    assert.deepEqual(agent.calls, [], 'nothing leaves before the turn ends');
    await nextTurn();
    assert.equal(writes.held, 0);
    assert.deepEqual(agent.calls, [3]);
    assert.deepEqual(agent.order, ['a', 'b', 'c']);
    assert.deepEqual(visitor.calls, [1]);

    writes.hold(agent.socket);
    agent.socket.write('d');
    await nextTurn();
    assert.deepEqual(agent.calls, [3, 1], 'the next turn is held again, on its own');
  });

  it('releases at once when asked (shutdown), and skips a socket destroyed meanwhile', async () => {
    const writes = new CorkedWrites();
    const open = recordingSocket();
    const gone = recordingSocket();
    writes.hold(open.socket);
    writes.hold(gone.socket);
    open.socket.write('goaway');
    gone.socket.destroy();
    writes.release();
    await nextTurn();
    assert.deepEqual(open.order, ['goaway']);
    assert.equal(writes.held, 0);
  });
});
