import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CallSnapshot, Message, ServerFrame } from '@parley/protocol';
import { postJson } from '../support/http.ts';
import { RestartDesk, callIn, eventTexts, restartStores } from './RestartDesk.ts';

/*
 * A Parley process killed (SIGKILL) or stopped (SIGTERM) and started again on the same store and port: what
 * was stored and acknowledged is all there, live calls go on from where they were, deadlines run from their
 * stored times. On SQLite and on PostgreSQL (PARLEY_TEST_STORE picks one; both when unset).
 */

const RING_SECONDS = 6;

const callOf = (f: ServerFrame): CallSnapshot => {
  if (f.type !== 'call.updated') throw new Error(`not a call update: ${f.type}`);
  return f.call;
};

for (const storeKind of restartStores) {
  describe(`restart on ${storeKind}: nothing acknowledged is lost, calls go on`, () => {
    let desk: RestartDesk;
    before(async () => {
      desk = await RestartDesk.start(storeKind, {
        CALL_RING_SECONDS: String(RING_SECONDS),
        CALL_GRACE_SECONDS: '20',
        // The burst below sends faster than a person types.
        RATE_LIMIT_RPS: '2000',
        RATE_LIMIT_BURST: '2000',
      });
    });
    after(async () => {
      await desk?.stop();
    });
    const restart = (signal: NodeJS.Signals) => desk.restart(signal);
    const connect = (token: string) => desk.connect(token);
    const chat = () => desk.chat();
    const activeCall = () => desk.activeCall();
    const events = eventTexts;

    for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
      it(`an active call outlives a ${signal}: both find it active, rejoin, mute and end it once`, async () => {
        const c = await activeCall();
        await restart(signal);
        const agent = await connect(c.agentToken);
        const visitor = await connect(c.visitorToken);
        for (const client of [agent, visitor]) {
          const conversation = client.ready.conversations.find((x) => x.sessionID === c.sessionID);
          assert.equal(conversation?.call?.callId, c.callId, 'the call is in the conversation after the restart');
          assert.equal(conversation?.call?.state, 'active');
        }
        // Nobody was connected to the new process: joined participants wait their grace period.
        const before = visitor.ready.conversations.find((x) => x.sessionID === c.sessionID)?.call;
        assert.deepEqual(before?.participants.map((p) => p.connection).sort(), ['reconnecting', 'reconnecting']);
        const rejoined = await visitor.request('call.join', { sessionID: c.sessionID, callId: c.callId });
        assert.equal(rejoined.call.state, 'active');
        await agent.request('call.join', { sessionID: c.sessionID, callId: c.callId });
        agent.send({ type: 'call.media', sessionID: c.sessionID, callId: c.callId, audio: false, video: true });
        const muted = callOf(await visitor.waitFor((f) => f.type === 'call.updated' && f.call.participants.some((p) => p.id === c.agentId && !p.audio)));
        assert.equal(muted.state, 'active');
        const ended = await visitor.request('call.hangup', { sessionID: c.sessionID, callId: c.callId });
        assert.equal(ended.call.state, 'ended');
        await agent.waitFor(callIn('ended', c.callId));
        const texts = await events(agent, c.sessionID);
        assert.equal(texts.filter((t) => /started/.test(t)).length, 1, `one "call started" in ${JSON.stringify(texts)}`);
        assert.equal(texts.filter((t) => /ended/.test(t)).length, 1, `one "call ended" in ${JSON.stringify(texts)}`);
        const endedFrames = agent.frames.filter(callIn('ended', c.callId));
        assert.equal(endedFrames.length, 1, 'the agent hears the end once');
      });
    }

    it('a ringing request expires at its stored deadline, not a full ring after the restart', async () => {
      const c = await chat();
      const { call } = await c.visitor.request('call.request', { sessionID: c.sessionID, useAudio: true, useVideo: false });
      assert.ok(call.expiresAt);
      const expiresAt = new Date(call.expiresAt);
      // Part of the ring passes before the crash.
      await new Promise((resolve) => setTimeout(resolve, (RING_SECONDS * 1000) / 3));
      const restartedAt = await restart('SIGKILL');
      const agent = await connect(c.agentToken);
      assert.equal(agent.ready.conversations.find((x) => x.sessionID === c.sessionID)?.call?.state, 'requested', 'still ringing after the restart');
      const expired = callOf(await agent.waitFor(callIn('ended', call.callId), RING_SECONDS * 2000));
      assert.equal(expired.endReason, 'timeout');
      assert.ok(expired.endedAt);
      const endedAt = new Date(expired.endedAt);
      assert.ok(endedAt >= expiresAt, `ended ${endedAt.toISOString()} before its deadline ${expiresAt.toISOString()}`);
      // Re-armed from the restart it could not end before restartedAt + the whole ring.
      assert.ok(
        endedAt.getTime() < restartedAt.getTime() + RING_SECONDS * 1000,
        `ended ${endedAt.toISOString()}: the ring ran again in full after the restart at ${restartedAt.toISOString()}`,
      );
      const texts = await events(agent, c.sessionID);
      assert.deepEqual(texts.slice(-2), ["Vera asked for a voice call", "Voice call not answered"], "each event once");
    });

    it('a burst of chat killed midway: every acknowledged message is kept, resent ones are stored once, seqs have no gap', async () => {
      const c = await chat();
      const total = 200;
      const acked = new Map<string, Message>();
      const sends: Array<Promise<void>> = [];
      let restarting: Promise<Date> | null = null;
      for (let i = 0; i < total; i++) {
        const clientId = `burst-${i}`;
        if (c.visitor.closeCode === null) {
          sends.push(
            c.visitor.request('message.send', { sessionID: c.sessionID, text: `message ${i}`, clientId }, 20_000).then(
              (result) => void acked.set(clientId, result.message),
              () => undefined, // not acknowledged: resent below
            ),
          );
        }
        // Sends spread over time, so the kill lands among stored, acknowledged and unsent messages.
        await new Promise((resolve) => setTimeout(resolve, 2));
        if (i === total / 2) restarting = restart('SIGKILL');
      }
      await Promise.all(sends);
      await restarting;
      const ackedBeforeCrash = acked.size;
      assert.ok(ackedBeforeCrash > 0 && ackedBeforeCrash < total, `the kill came mid-burst (${ackedBeforeCrash} of ${total} acknowledged)`);
      const visitor = await connect(c.visitorToken); // the restart has finished: the server answers
      for (let i = 0; i < total; i++) {
        const clientId = `burst-${i}`;
        if (acked.has(clientId)) continue;
        const result = await visitor.request('message.send', { sessionID: c.sessionID, text: `message ${i}`, clientId });
        acked.set(clientId, result.message);
      }
      const stored = (await visitor.request('conversation.sync', { sessionID: c.sessionID, afterSeq: 0 })).messages.filter((m) => m.kind === 'text');
      const byClient = new Map<string, number>();
      for (const m of stored) byClient.set(m.clientId ?? '', (byClient.get(m.clientId ?? '') ?? 0) + 1);
      const lost = [...acked.keys()].filter((id) => !byClient.has(id));
      const doubled = [...byClient].filter(([, n]) => n > 1);
      assert.deepEqual(lost, [], 'acknowledged messages lost');
      assert.deepEqual(doubled, [], 'messages stored twice');
      assert.equal(stored.length, total);
      const seqs = (await visitor.request('conversation.sync', { sessionID: c.sessionID, afterSeq: 0 })).messages.map((m) => m.seq);
      assert.deepEqual(
        seqs,
        Array.from({ length: seqs.length }, (_, i) => i + 1),
        'seqs are gapless',
      );
      for (const [clientId, message] of acked) {
        assert.equal(stored.find((m) => m.clientId === clientId)?.seq, message.seq, `${clientId} kept the seq it was acknowledged with`);
      }
    });

    it('a guest link redeemed before a crash stays used, and its guest joins after the restart', async () => {
      const c = await activeCall();
      const link = await c.agent.request('guest.invite', { sessionID: c.sessionID });
      const redeemed = await postJson<{ token: string; guest: { id: string } }>(`${desk.server.url}/api/guests`, { token: link.token, name: 'Gil' });
      assert.equal(redeemed.status, 201);
      await restart('SIGKILL');
      const again = await postJson<{ code: string }>(`${desk.server.url}/api/guests`, { token: link.token, name: 'Mallory' });
      assert.equal(again.body.code, 'invite_used', 'a used link stays used across the restart');
      const guest = await connect(redeemed.body.token);
      assert.equal(guest.ready.guest?.call?.callId, c.callId, 'the guest finds its call');
      const joined = await guest.request('call.join', { sessionID: c.sessionID, callId: c.callId });
      assert.ok(joined.call.participants.some((p) => p.id === redeemed.body.guest.id && p.joined));
      assert.equal(joined.call.participants.filter((p) => p.role === 'guest').length, 1, 'one guest admitted');
    });

    it('two redemptions of one link at once admit one guest', async () => {
      const c = await activeCall();
      const link = await c.agent.request('guest.invite', { sessionID: c.sessionID });
      const url = `${desk.server.url}/api/guests`;
      const results = await Promise.all([
        postJson<{ code?: string }>(url, { token: link.token, name: 'One' }),
        postJson<{ code?: string }>(url, { token: link.token, name: 'Two' }),
      ]);
      assert.deepEqual(
        results.map((r) => (r.status === 201 ? 'admitted' : r.body.code)).sort(),
        ['admitted', 'invite_used'],
      );
      // The refused redemption left nothing behind: one guest in the call, and room for another link.
      const sync = await c.agent.request('conversation.sync', { sessionID: c.sessionID, afterSeq: 0 });
      assert.deepEqual(
        sync.conversation.call?.participants.filter((p) => p.role === 'guest').map((p) => p.name).length,
        1,
        JSON.stringify(sync.conversation.call?.participants),
      );
      const another = await c.agent.request('guest.invite', { sessionID: c.sessionID });
      assert.match(another.url, /\/guest#/);
    });

    it("an agent's chosen presence survives the restart", async () => {
      const c = await chat();
      await c.agent.request('presence.set', { presence: 'away' });
      await restart('SIGKILL');
      const agent = await connect(c.agentToken);
      assert.equal(agent.ready.presence, 'away');
    });
  });
}
