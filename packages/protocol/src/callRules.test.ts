import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mayClose, mayRemove, type Attendee, type CallRoles } from './call.ts';
import type { Party } from './party.ts';

/*
 * Who may remove whom, and who may close, as tables over every role pair. Roles of a call: the visitor, the
 * conversation's agent (owner), an added colleague (joined, or invited and not joined yet), a guest.
 */
const roles: CallRoles = { visitorId: 'v', agentId: 'owner' };
const people = {
  visitor: { id: 'v', role: 'visitor', joined: true },
  owner: { id: 'owner', role: 'agent', joined: true },
  ownerInvited: { id: 'owner', role: 'agent', joined: false },
  colleague: { id: 'c1', role: 'agent', joined: true },
  colleague2: { id: 'c2', role: 'agent', joined: true },
  colleagueInvited: { id: 'c3', role: 'agent', joined: false },
  guest: { id: 'g1', role: 'guest', joined: true },
  guest2: { id: 'g2', role: 'guest', joined: false },
} satisfies Record<string, Attendee>;
type Who = keyof typeof people;

/** [actor, target] → null (allowed) or the refusal code. Self-removal is `conflict` (leave instead). */
const removeTable: Record<Who, Partial<Record<Who, 'forbidden' | 'conflict' | null>>> = {
  visitor: { visitor: 'forbidden', owner: 'forbidden', colleague: 'forbidden', colleagueInvited: 'forbidden', guest: 'forbidden', guest2: 'forbidden' },
  owner: { visitor: null, owner: 'conflict', colleague: null, colleagueInvited: null, guest: null, guest2: null },
  ownerInvited: { visitor: 'forbidden', colleague: 'forbidden', guest: 'forbidden' },
  colleague: { visitor: 'forbidden', owner: 'forbidden', colleague: 'conflict', colleague2: 'forbidden', colleagueInvited: 'forbidden', guest: null, guest2: null },
  colleague2: { colleague: 'forbidden' },
  colleagueInvited: { visitor: 'forbidden', owner: 'forbidden', colleague: 'forbidden', guest: 'forbidden', guest2: 'forbidden' },
  guest: { visitor: 'forbidden', owner: 'forbidden', colleague: 'forbidden', guest: 'forbidden', guest2: 'forbidden' },
  guest2: { visitor: 'forbidden', owner: 'forbidden', guest: 'forbidden' },
};

describe('mayRemove: who takes whom out of a call', () => {
  for (const [actor, row] of Object.entries(removeTable) as Array<[Who, Partial<Record<Who, 'forbidden' | 'conflict' | null>>]>) {
    for (const [target, expected] of Object.entries(row) as Array<[Who, 'forbidden' | 'conflict' | null]>) {
      test(`${actor} removes ${target}: ${expected ?? 'allowed'}`, () => {
        assert.equal(mayRemove(people[actor], people[target], roles)?.code ?? null, expected);
      });
    }
  }
  test('someone not in the call removes nobody; a target not in the call is not_found', () => {
    assert.equal(mayRemove(undefined, people.guest, roles)?.code, 'forbidden');
    assert.equal(mayRemove(people.owner, undefined, roles)?.code, 'not_found');
  });
});

describe('mayClose: who closes the conversation', () => {
  const party = (id: string, role: Party['role']): Party => ({ id, role, name: id });
  const table: Array<[string, Party, CallRoles, 'forbidden' | null]> = [
    ['its visitor', party('v', 'visitor'), roles, null],
    ['its agent', party('owner', 'agent'), roles, null],
    ['an added colleague', party('c1', 'agent'), roles, 'forbidden'],
    ['a guest', party('g1', 'guest'), roles, 'forbidden'],
    ['another visitor', party('w', 'visitor'), roles, 'forbidden'],
    ['an agent with the visitor id', party('v', 'agent'), roles, 'forbidden'],
    ['the visitor of a queued conversation', party('v', 'visitor'), { visitorId: 'v', agentId: null }, null],
    ['an agent, while it is queued', party('owner', 'agent'), { visitorId: 'v', agentId: null }, 'forbidden'],
  ];
  for (const [name, who, r, expected] of table) {
    test(`${name}: ${expected ?? 'allowed'}`, () => assert.equal(mayClose(who, r)?.code ?? null, expected));
  }
});
