import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { IDLE_CALL, departureEndsCall, transition, type CallAction, type CallCore, type CallRoles, type CallState } from './call.ts';
import type { Party } from './party.ts';

const visitor: Party = { id: 'v', role: 'visitor', name: 'Vi' };
const agent: Party = { id: 'a', role: 'agent', name: 'Al' };
const otherAgent: Party = { id: 'b', role: 'agent', name: 'Bo' };
const otherVisitor: Party = { id: 'w', role: 'visitor', name: 'Wu' };
const roles: CallRoles = { visitorId: 'v', agentId: 'a' };

function callIn(state: CallState, initiator: Party | null = null): CallCore {
  const by = initiator ?? (state === 'invited' ? agent : visitor);
  return { ...IDLE_CALL, state, initiator: state === 'idle' ? null : by };
}

/** Expected outcome: the next state, or the refusal code. */
type Expect = CallState | 'forbidden' | 'conflict';

const cases: Array<[CallState, CallAction, Expect]> = [
  // request
  ['idle', { type: 'request', by: visitor, useAudio: true, useVideo: true }, 'requested'],
  ['ended', { type: 'request', by: visitor, useAudio: true, useVideo: false }, 'requested'],
  ['idle', { type: 'request', by: agent, useAudio: true, useVideo: true }, 'forbidden'],
  ['idle', { type: 'request', by: otherVisitor, useAudio: true, useVideo: true }, 'forbidden'],
  ['idle', { type: 'request', by: visitor, useAudio: false, useVideo: false }, 'conflict'],
  ['requested', { type: 'request', by: visitor, useAudio: true, useVideo: true }, 'conflict'],
  ['invited', { type: 'request', by: visitor, useAudio: true, useVideo: true }, 'conflict'],
  ['connecting', { type: 'request', by: visitor, useAudio: true, useVideo: true }, 'conflict'],
  ['active', { type: 'request', by: visitor, useAudio: true, useVideo: true }, 'conflict'],
  // invite
  ['idle', { type: 'invite', by: agent, useAudio: true, useVideo: true }, 'invited'],
  ['ended', { type: 'invite', by: agent, useAudio: true, useVideo: true }, 'invited'],
  ['idle', { type: 'invite', by: otherAgent, useAudio: true, useVideo: true }, 'forbidden'],
  ['idle', { type: 'invite', by: visitor, useAudio: true, useVideo: true }, 'forbidden'],
  ['requested', { type: 'invite', by: agent, useAudio: true, useVideo: true }, 'conflict'],
  ['active', { type: 'invite', by: agent, useAudio: true, useVideo: true }, 'conflict'],
  // accept / decline
  ['requested', { type: 'accept', by: agent }, 'connecting'],
  ['requested', { type: 'accept', by: visitor }, 'forbidden'],
  ['requested', { type: 'accept', by: otherAgent }, 'forbidden'],
  ['invited', { type: 'accept', by: visitor }, 'connecting'],
  ['invited', { type: 'accept', by: agent }, 'forbidden'],
  ['invited', { type: 'accept', by: otherVisitor }, 'forbidden'],
  ['idle', { type: 'accept', by: agent }, 'conflict'],
  ['connecting', { type: 'accept', by: agent }, 'conflict'],
  ['active', { type: 'accept', by: visitor }, 'conflict'],
  ['ended', { type: 'accept', by: agent }, 'conflict'],
  ['requested', { type: 'decline', by: agent }, 'ended'],
  ['invited', { type: 'decline', by: visitor }, 'ended'],
  ['requested', { type: 'decline', by: visitor }, 'forbidden'],
  ['invited', { type: 'decline', by: agent }, 'forbidden'],
  ['active', { type: 'decline', by: agent }, 'conflict'],
  // cancel
  ['requested', { type: 'cancel', by: visitor }, 'ended'],
  ['invited', { type: 'cancel', by: agent }, 'ended'],
  ['requested', { type: 'cancel', by: agent }, 'forbidden'],
  ['active', { type: 'cancel', by: visitor }, 'conflict'],
  // expire
  ['requested', { type: 'expire' }, 'ended'],
  ['invited', { type: 'expire' }, 'ended'],
  ['connecting', { type: 'expire' }, 'conflict'],
  ['idle', { type: 'expire' }, 'conflict'],
  // media
  ['connecting', { type: 'connected' }, 'active'],
  ['active', { type: 'connected' }, 'active'],
  ['requested', { type: 'connected' }, 'conflict'],
  ['ended', { type: 'connected' }, 'conflict'],
  // hangup
  ['connecting', { type: 'hangup', by: visitor }, 'ended'],
  ['active', { type: 'hangup', by: agent }, 'ended'],
  ['requested', { type: 'hangup', by: visitor }, 'conflict'],
  ['idle', { type: 'hangup', by: visitor }, 'conflict'],
  ['ended', { type: 'hangup', by: agent }, 'conflict'],
  // fail, media denied, conversation closed
  ['active', { type: 'fail' }, 'ended'],
  ['connecting', { type: 'fail', by: visitor }, 'ended'],
  ['requested', { type: 'fail' }, 'ended'],
  ['idle', { type: 'fail' }, 'conflict'],
  ['active', { type: 'mediaDenied', by: visitor }, 'ended'],
  ['requested', { type: 'mediaDenied', by: visitor }, 'conflict'],
  ['active', { type: 'conversationClosed', by: agent }, 'ended'],
  ['invited', { type: 'conversationClosed', by: visitor }, 'ended'],
  ['idle', { type: 'conversationClosed', by: visitor }, 'idle'],
  ['ended', { type: 'conversationClosed', by: visitor }, 'ended'],
];

describe('call state machine', () => {
  for (const [from, action, expected] of cases) {
    const who = 'by' in action && action.by ? `${action.by.role} ${action.by.id}` : 'system';
    it(`${from} + ${action.type} by ${who} → ${expected}`, () => {
      const before = callIn(from);
      const frozen = JSON.stringify(before);
      const result = transition(before, action, roles);
      assert.equal(JSON.stringify(before), frozen, 'the input is never mutated');
      if (expected === 'forbidden' || expected === 'conflict') {
        assert.equal(result.ok, false);
        if (!result.ok) {
          assert.equal(result.code, expected);
          assert.ok(result.message.length > 0);
        }
      } else {
        assert.equal(result.ok, true, JSON.stringify(result));
        if (result.ok) assert.equal(result.call.state, expected);
      }
    });
  }

  it('records why and by whom a call ended', () => {
    const reasons: Array<[CallState, CallAction, string]> = [
      ['requested', { type: 'decline', by: agent }, 'declined'],
      ['requested', { type: 'cancel', by: visitor }, 'cancelled'],
      ['invited', { type: 'expire' }, 'timeout'],
      ['active', { type: 'hangup', by: visitor }, 'hangup'],
      ['active', { type: 'fail' }, 'failed'],
      ['active', { type: 'mediaDenied', by: visitor }, 'media-denied'],
      ['active', { type: 'conversationClosed', by: agent }, 'closed'],
    ];
    for (const [from, action, reason] of reasons) {
      const result = transition(callIn(from), action, roles);
      assert.ok(result.ok);
      if (result.ok) {
        assert.equal(result.call.endReason, reason);
        assert.equal(result.call.endedBy?.id ?? null, 'by' in action ? (action.by?.id ?? null) : null);
      }
    }
  });

  it('keeps the media asked for, and refuses a request before an agent has joined', () => {
    const result = transition(IDLE_CALL, { type: 'request', by: visitor, useAudio: true, useVideo: false }, roles);
    assert.ok(result.ok && result.call.useVideo === false && result.call.useAudio === true);
    const early = transition(IDLE_CALL, { type: 'request', by: visitor, useAudio: true, useVideo: true }, { visitorId: 'v', agentId: null });
    assert.equal(early.ok ? 'ok' : early.code, 'conflict');
  });

  it('covers every action type in the table', () => {
    const types = new Set(cases.map(([, a]) => a.type));
    for (const t of ['request', 'invite', 'accept', 'decline', 'cancel', 'expire', 'connected', 'hangup', 'fail', 'mediaDenied', 'conversationClosed']) {
      assert.ok(types.has(t as CallAction['type']), t);
    }
  });
});

test('departureEndsCall: the visitor or the last joined agent leaving ends a call; anyone else only leaves', () => {
  const v = { id: 'v', role: 'visitor' as const, joined: true };
  const a1 = { id: 'a1', role: 'agent' as const, joined: true };
  const a2 = { id: 'a2', role: 'agent' as const, joined: true };
  const g = { id: 'g', role: 'guest' as const, joined: true };
  assert.equal(departureEndsCall([v, a1, g], 'v', 'v'), true, 'the visitor');
  assert.equal(departureEndsCall([v, a1, g], 'g', 'v'), false, 'a guest');
  assert.equal(departureEndsCall([v, a1, g], 'a1', 'v'), true, 'the only agent');
  assert.equal(departureEndsCall([v, a1, a2, g], 'a1', 'v'), false, 'one of two agents');
  assert.equal(departureEndsCall([v, a1, { ...a2, joined: false }], 'a1', 'v'), true, 'an agent only invited does not hold the call');
  assert.equal(departureEndsCall([v, a1], 'nobody', 'v'), false);
});
