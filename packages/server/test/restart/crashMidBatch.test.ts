import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Message } from '@parley/protocol';
import { createVisitor } from '../support/http.ts';
import type { ConnectedClient } from '../support/ProtocolClient.ts';
import { RestartDesk, restartStores } from './RestartDesk.ts';

/*
 * One Parley process, SIGKILLed by its own crash hook (PARLEY_TEST_CRASH_AT) while one message of a group commit
 * is being appended: before that commit, or after it and before any of its messages is acknowledged. Twenty
 * visitors send at once, so the batch the kill lands in holds other conversations' messages too. Started again
 * on the same store, each visitor resends what was not acknowledged (same clientId), as the SDK does, and goes on.
 * Checked in every conversation: every acknowledged message kept with the seq it was acknowledged with, each
 * stored once, seqs without a gap, and the visitor's messages in the order it sent them.
 */

const VISITORS = 20;
const ROUNDS = 10;
/** The visitor and the round whose message carries the crash marker. */
const CRASHING = { visitor: 7, round: 5 };

interface Sender {
  client: ConnectedClient;
  token: string;
  sessionID: string;
  acked: Map<string, Message>;
}

const clientIdOf = (visitor: number, round: number) => `v${visitor}-r${round}`;
const textOf = (visitor: number, round: number, marker: string) =>
  visitor === CRASHING.visitor && round === CRASHING.round ? `round ${round} ${marker}` : `round ${round}`;

for (const storeKind of restartStores) {
  for (const point of ['beforeCommit', 'afterCommit'] as const) {
    describe(`SIGKILL mid-batch ${point} on ${storeKind}`, () => {
      const marker = `batch-${point}-marker`;
      let desk: RestartDesk | null = null;
      after(async () => {
        await desk?.stop();
      });

      it('every acknowledged message is kept with its seq; resends are stored once; seqs have no gap; each sender in order', async () => {
        const env = { RATE_LIMIT_RPS: '2000', RATE_LIMIT_BURST: '2000', AGENT_MAX_CHATS: String(VISITORS), VISITORS_PER_IP_PER_MINUTE: '1000' };
        desk = await RestartDesk.start(storeKind, { ...env, PARLEY_TEST_CRASH_AT: `${point}:${marker}` });
        const first = await desk.chat();
        const senders: Sender[] = [{ client: first.visitor, token: first.visitorToken, sessionID: first.sessionID, acked: new Map() }];
        for (let v = 1; v < VISITORS; v++) {
          const { token } = await createVisitor(desk.server.url, `Visitor ${v}`);
          const client = await desk.connect(token);
          const sessionID = (await client.request('chat.start', {})).conversation.sessionID;
          await first.agent.waitFor((f) => f.type === 'conversation.assigned' && f.conversation.sessionID === sessionID);
          senders.push({ client, token, sessionID, acked: new Map() });
        }

        // Every visitor sends its rounds one after the other, all visitors at once: each turn's group commit holds
        // about one message of each. The crashing message kills the process; every request then open fails.
        let inFlightAtCrash = 0;
        let inFlight = 0;
        const sendRounds = async (s: Sender, v: number): Promise<void> => {
          for (let r = 0; r < ROUNDS; r++) {
            const clientId = clientIdOf(v, r);
            inFlight++;
            try {
              const result = await s.client.request('message.send', { sessionID: s.sessionID, clientId, text: textOf(v, r, marker) }, 10_000);
              s.acked.set(clientId, result.message);
            } catch {
              inFlightAtCrash = Math.max(inFlightAtCrash, inFlight);
              return;
            } finally {
              inFlight--;
            }
          }
        };
        await Promise.all(senders.map((s, v) => sendRounds(s, v)));
        const crashId = clientIdOf(CRASHING.visitor, CRASHING.round);
        assert.equal(senders[CRASHING.visitor]!.acked.has(crashId), false, 'the crashing message was not acknowledged');
        assert.ok(inFlightAtCrash > 1, `other visitors' messages were in flight with it (${inFlightAtCrash})`);
        const ackedBeforeCrash = senders.reduce((n, s) => n + s.acked.size, 0);
        assert.ok(ackedBeforeCrash > 0 && ackedBeforeCrash < VISITORS * ROUNDS, `the kill came mid-run (${ackedBeforeCrash} acknowledged)`);

        // The process is dead already: this reaps it and starts a new one, on the same store, without the hook.
        const { PARLEY_TEST_CRASH_AT: _hook, ...withoutHook } = desk.env;
        await desk.restart('SIGKILL', withoutHook);
        for (const [v, s] of senders.entries()) {
          s.client = await desk.connect(s.token);
          for (let r = 0; r < ROUNDS; r++) {
            const clientId = clientIdOf(v, r);
            if (s.acked.has(clientId)) continue;
            const result = await s.client.request('message.send', { sessionID: s.sessionID, clientId, text: textOf(v, r, marker) });
            if (clientId === crashId) {
              // Committed before the kill: the resend finds it. Not committed: the resend stores it.
              assert.equal(result.duplicate, point === 'afterCommit', `the crashing message was ${point === 'afterCommit' ? '' : 'not '}stored before the kill`);
            }
            s.acked.set(clientId, result.message);
          }
        }

        for (const [v, s] of senders.entries()) {
          const page = await s.client.request('conversation.sync', { sessionID: s.sessionID, afterSeq: 0 });
          assert.equal(page.more, false);
          assert.deepEqual(page.messages.map((m) => m.seq), Array.from({ length: page.messages.length }, (_, i) => i + 1), `visitor ${v}: seqs are gapless`);
          const texts = page.messages.filter((m) => m.kind === 'text');
          assert.deepEqual(texts.map((m) => m.clientId), Array.from({ length: ROUNDS }, (_, r) => clientIdOf(v, r)), `visitor ${v}: each message once, in the order sent`);
          for (const [clientId, message] of s.acked) {
            assert.equal(texts.find((m) => m.clientId === clientId)?.seq, message.seq, `${clientId} kept the seq it was acknowledged with`);
          }
        }
      });
    });
  }
}
