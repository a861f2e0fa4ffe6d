/*
 * Call frames for the FakeParleyServer (SDK Node tests only): the server side of calls as
 * .tmp/call-behaviour.md specifies it, driven by the protocol's pure state machine. Hooks into the
 * fake through its `requestHook`, and records what it saw for assertions.
 */
import { transition, type CallAction, type CallCore, type CallSnapshot, type ClientFrame, type IceServerInfo, type Party, type ServerFrame } from '@parley/protocol';
import type { FakeConnection, FakeParleyServer } from './FakeParleyServer.ts';

type CallFrame = Extract<ClientFrame, { type: `call.${string}` | 'signal' }>;
const CALL_TYPES = new Set(['call.request', 'call.invite', 'call.answer', 'call.cancel', 'call.hangup', 'call.join', 'call.media', 'call.connection', 'signal']);

export class FakeCallServer {
  /** The latest call of each conversation (ended ones stay until the next call). */
  readonly calls = new Map<string, CallSnapshot>();
  /** Every call frame received, with who sent it. */
  readonly received: Array<{ frame: CallFrame; from: Party }> = [];
  /** Signals relayed, as `from→to:kind` (kind: the description type or `candidate`). */
  readonly relayed: string[] = [];
  iceServers: IceServerInfo[] = [{ urls: 'stun:127.0.0.1:3478' }];
  private counter = 0;

  constructor(private readonly server: FakeParleyServer) {
    server.requestHook = (frame, connection) => {
      if (!CALL_TYPES.has(frame.type)) return 'handle';
      this.handle(frame as CallFrame, connection);
      return 'ignore';
    };
  }

  /** Frames of one type received so far. */
  framesOf<T extends CallFrame['type']>(type: T): Array<Extract<CallFrame, { type: T }>> {
    return this.received.filter((r) => r.frame.type === type).map((r) => r.frame as Extract<CallFrame, { type: T }>);
  }

  /** The ring time is over: a pending call ends with `timeout`. */
  expire(sessionID: string): void {
    this.act(sessionID, { type: 'expire' });
  }

  private handle(frame: CallFrame, connection: FakeConnection): void {
    const me = connection.identity!;
    this.received.push({ frame, from: me });
    const conversation = this.server.conversations.get(frame.sessionID);
    if (!conversation) return this.fail(connection, frame, 'not_found');
    const call = this.calls.get(frame.sessionID);
    const reply = (data: unknown) => 'id' in frame && this.send(connection, { type: 'result', id: frame.id, data } as ServerFrame);
    switch (frame.type) {
      case 'call.request':
      case 'call.invite': {
        const core = call ?? null;
        const result = transition(core ? toCore(core) : idle(), { type: frame.type === 'call.request' ? 'request' : 'invite', by: me, useAudio: frame.useAudio, useVideo: frame.useVideo }, this.roles(frame.sessionID));
        if (!result.ok) return this.fail(connection, frame, result.code);
        const { visitor, agent } = conversation.snapshot;
        const participants = [visitor, ...(agent ? [agent] : [])].map((p) => ({
          ...p,
          audio: frame.useAudio,
          video: frame.useVideo,
          joined: false,
          connection: 'absent' as const,
          invitedBy: null,
        }));
        const fresh: CallSnapshot = {
          callId: `call-${++this.counter}`,
          sessionID: frame.sessionID,
          ...result.call,
          participants,
          topology: 'mesh',
          capacity: 4,
          createdAt: new Date().toISOString(),
          expiresAt: new Date(Date.now() + 30_000).toISOString(),
          startedAt: null,
          endedAt: null,
        };
        this.store(fresh);
        reply({ call: fresh });
        return this.broadcast(fresh);
      }
      case 'call.answer':
      case 'call.cancel':
      case 'call.hangup': {
        if (!call || call.callId !== frame.callId) return this.fail(connection, frame, 'conflict');
        const action: CallAction =
          frame.type === 'call.answer'
            ? { type: frame.accept ? 'accept' : 'decline', by: me }
            : frame.type === 'call.cancel'
              ? { type: 'cancel', by: me }
              : frame.reason === 'media-denied'
                ? { type: 'mediaDenied', by: me }
                : { type: 'hangup', by: me };
        const next = this.act(frame.sessionID, action, connection, frame);
        if (next) reply({ call: next });
        return;
      }
      case 'call.join': {
        if (!call || call.callId !== frame.callId) return this.fail(connection, frame, 'conflict');
        if (!call.participants.some((p) => p.id === me.id)) return this.fail(connection, frame, 'forbidden');
        if (call.state !== 'connecting' && call.state !== 'active') return this.fail(connection, frame, 'conflict');
        const next = this.patch(call, me.id, { joined: true, connection: 'connecting' });
        reply({ call: next, iceServers: this.iceServers, media: { kind: 'mesh' } });
        return this.broadcast(next);
      }
      case 'call.media': {
        if (!call || call.callId !== frame.callId) return;
        const next = this.patch(call, me.id, { audio: frame.audio, video: frame.video });
        if (frame.video && !next.useVideo) next.useVideo = true;
        return this.broadcast(next);
      }
      case 'call.connection': {
        if (!call || call.callId !== frame.callId) return;
        const next = this.patch(call, me.id, { connection: frame.state });
        if (frame.state === 'connected' && next.state === 'connecting') {
          next.state = 'active';
          next.startedAt = new Date().toISOString();
        }
        if (frame.state === 'failed') return void this.act(frame.sessionID, { type: 'fail', by: me });
        return this.broadcast(next);
      }
      case 'signal': {
        const live = call && call.callId === frame.callId && (call.state === 'connecting' || call.state === 'active');
        if (!live) return this.fail(connection, frame, 'conflict');
        const joined = (id: string) => call.participants.some((p) => p.id === id && p.joined);
        if (!joined(me.id) || !joined(frame.to)) return this.fail(connection, frame, 'forbidden');
        const { to, ...rest } = frame;
        const relayed: ServerFrame = { ...rest, type: 'signal', from: me.id };
        this.relayed.push(`${me.id}→${to}:${frame.description?.type ?? 'candidate'}`);
        for (const c of this.server.authenticated) if (c.identity?.id === to) this.send(c, relayed);
        return;
      }
    }
  }

  private act(sessionID: string, action: CallAction, connection?: FakeConnection, frame?: CallFrame): CallSnapshot | null {
    const call = this.calls.get(sessionID);
    if (!call) return null;
    const result = transition(toCore(call), action, this.roles(sessionID));
    if (!result.ok) {
      if (connection && frame) this.fail(connection, frame, result.code);
      return null;
    }
    const next: CallSnapshot = { ...call, ...result.call };
    if (next.state === 'ended') next.endedAt = new Date().toISOString();
    this.store(next);
    this.broadcast(next);
    return next;
  }

  private patch(call: CallSnapshot, partyId: string, change: Partial<CallSnapshot['participants'][number]>): CallSnapshot {
    const next: CallSnapshot = { ...call, participants: call.participants.map((p) => (p.id === partyId ? { ...p, ...change } : p)) };
    this.store(next);
    return next;
  }

  private store(call: CallSnapshot): void {
    this.calls.set(call.sessionID, call);
    const conversation = this.server.conversations.get(call.sessionID);
    if (conversation) conversation.snapshot = { ...conversation.snapshot, call: call.state === 'ended' ? null : call };
  }

  private broadcast(call: CallSnapshot): void {
    this.server.pushToMembers(call.sessionID, { type: 'call.updated', call });
  }

  private roles(sessionID: string): { visitorId: string; agentId: string | null } {
    const snapshot = this.server.conversations.get(sessionID)!.snapshot;
    return { visitorId: snapshot.visitor.id, agentId: snapshot.agent?.id ?? null };
  }

  private fail(connection: FakeConnection, frame: CallFrame, code: 'conflict' | 'forbidden' | 'not_found'): void {
    const id = 'id' in frame ? frame.id : undefined;
    this.send(connection, { type: 'error', ...(id ? { id } : {}), code, message: `${frame.type}: ${code}` });
  }

  private send(connection: FakeConnection, frame: ServerFrame): void {
    if (connection.socket.readyState === connection.socket.OPEN) connection.socket.send(JSON.stringify(frame));
  }
}

function toCore(call: CallSnapshot): CallCore {
  const { state, initiator, useAudio, useVideo, endReason, endedBy } = call;
  return { state, initiator, useAudio, useVideo, endReason, endedBy };
}

function idle(): CallCore {
  return { state: 'idle', initiator: null, useAudio: true, useVideo: true, endReason: null, endedBy: null };
}

