import type { AgentSummary } from '@parley/sdk';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ConversationState } from '../model/ConversationState.ts';
import type { WorkspaceModel } from '../model/WorkspaceModel.ts';
import { strings } from '../strings.ts';

type Listing = { kind: 'loading' } | { kind: 'ready'; agents: AgentSummary[] } | { kind: 'failed'; message: string };

/**
 * "Add people": the colleagues from `agent.agents()`, online ones with an "Add" button, the others shown
 * with their presence and a disabled button. Presence stays current while the list is open. "Add" brings
 * the colleague into the conversation and invites it into the call (`contact.addParticipant`).
 */
export function AddPeople({ model, state, onClose }: { model: WorkspaceModel; state: ConversationState; onClose(): void }) {
  const g = strings.group;
  const [listing, setListing] = useState<Listing>({ kind: 'loading' });
  const [busy, setBusy] = useState<string | null>(null);
  const [note, setNote] = useState<{ text: string; error: boolean } | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    heading.current?.focus();
    let live = true;
    model.colleagues().then(
      (agents) => live && setListing({ kind: 'ready', agents }),
      (error: Error) => live && setListing({ kind: 'failed', message: error.message }),
    );
    const off = model.agent?.on('presence', (summary) => {
      setListing((now) =>
        now.kind === 'ready' ? { kind: 'ready', agents: now.agents.map((a) => (a.id === summary.id ? { ...a, presence: summary.presence } : a)) } : now,
      );
    });
    return () => {
      live = false;
      off?.();
    };
  }, [model]);

  const inCall = new Set(state.call.video.participants.map((p) => p.id));
  const add = (colleague: AgentSummary) => {
    setBusy(colleague.id);
    setNote(null);
    state.contact.addParticipant(colleague.id).then(
      () => {
        setBusy(null);
        setNote({ text: g.added(colleague.name), error: false });
      },
      (error: Error) => {
        setBusy(null);
        setNote({ text: g.failed(error.message), error: true });
      },
    );
  };

  return (
    <div id="add-people" class="group-panel" role="group" aria-labelledby="add-people-title">
      <div class="group-panel-head">
        <h3 id="add-people-title" ref={heading} tabIndex={-1}>
          {g.addPeopleTitle}
        </h3>
        <button type="button" class="small" onClick={onClose}>
          {g.close}
        </button>
      </div>
      {listing.kind === 'loading' ? <p class="muted">{g.loadingColleagues}</p> : null}
      {listing.kind === 'failed' ? <p class="error">{g.failed(listing.message)}</p> : null}
      {listing.kind === 'ready' && listing.agents.length === 0 ? <p class="muted">{g.noColleagues}</p> : null}
      {listing.kind === 'ready' && listing.agents.length > 0 ? (
        <ul class="colleagues">
          {listing.agents.map((a) => {
            const here = inCall.has(a.id);
            const presence = g.presence[a.presence] ?? a.presence;
            return (
              <li key={a.id} class="colleague" data-presence={a.presence}>
                <span class="name">{a.name}</span>{' '}
                <span class={`presence-state presence-${a.presence}`}>{here ? g.inCall : presence}</span>
                <button
                  type="button"
                  class="small"
                  aria-label={g.addLabel(a.name)}
                  disabled={a.presence !== 'online' || here || busy !== null}
                  onClick={() => add(a)}
                >
                  {g.add}
                </button>
              </li>
            );
          })}
        </ul>
      ) : null}
      <p class={note?.error ? 'error' : 'muted'} role="status">
        {note?.text ?? ''}
      </p>
    </div>
  );
}
