import type { VideoParticipant } from '@parley/sdk';
import type { ConversationState } from '../model/ConversationState.ts';
import { strings } from '../strings.ts';

/** What a participant is doing, as words: role, invited, muted, camera off, sharing the screen, speaking. */
function facts(p: VideoParticipant, speaker: string | null): string {
  const g = strings.group;
  const parts = [g.roles[p.role] ?? p.role];
  if (!p.joined) parts.push(g.invited);
  else {
    if (!p.audio) parts.push(g.muted);
    if (!p.video) parts.push(g.cameraOff);
    if (p.screen) parts.push(g.sharing);
    if (speaker === p.id) parts.push(g.speaking);
  }
  return parts.filter(Boolean).join(', ');
}

/**
 * Who is in the call, this agent first, with "Remove" for each other agent or guest. The visitor has no
 * Remove: taking the visitor out ends the call, which "End call" / "End for all" already say plainly.
 */
export function CallPeople({ state }: { state: ConversationState }) {
  const g = strings.group;
  const self = state.self;
  const speaker = state.call.speaker;
  const remove = (p: VideoParticipant) => {
    state.contact.removeVideoParticipant(p.id).catch((error: Error) => state.patchCall({ error: error.message }));
  };
  return (
    <div class="call-people">
      <h3 id="call-people-title" class="visually-hidden">
        {g.people}
      </h3>
      <ul class="people" aria-labelledby="call-people-title">
        {self ? (
          <li class="person" data-speaking={speaker === 'local' || speaker === self.id ? '' : undefined}>
            <span class="name">{`${self.name} (${g.you})`}</span>
          </li>
        ) : null}
        {state.others.map((p) => (
          <li key={p.id} class="person" data-participant-id={p.id} data-speaking={speaker === p.id ? '' : undefined}>
            <span class="name">{p.name}</span> <span class="person-facts">{facts(p, speaker)}</span>
            {p.role !== 'visitor' ? (
              <button type="button" class="small" aria-label={g.removeLabel(p.name)} onClick={() => remove(p)}>
                {g.remove}
              </button>
            ) : null}
          </li>
        ))}
      </ul>
    </div>
  );
}
