import type { Agent } from '@parley/sdk';
import type { WorkspaceModel } from '../model/WorkspaceModel.ts';
import { strings } from '../strings.ts';
import { CallPanel } from './CallPanel.tsx';
import { ConversationList } from './ConversationList.tsx';
import { ConversationView } from './ConversationView.tsx';
import { QueueList } from './QueueList.tsx';
import { VisitorDetails } from './VisitorDetails.tsx';

/** The signed-in layout: header, the queue and conversations on the left, the conversation, its visitor and call. */
export function Workspace({ model, agent }: { model: WorkspaceModel; agent: Agent }) {
  const h = strings.header;
  const selected = model.selected;
  return (
    <div class="workspace">
      <header class="topbar">
        <span class="brand">{strings.product}</span>
        <span class="muted">{h.signedInAs(agent.name)}</span>
        <span id="connection" class={`connection connection-${model.connection}`} data-state={model.connection}>{h.connection[model.connection] ?? model.connection}</span>
        <label class="presence">
          <input
            type="checkbox"
            checked={model.presence === 'online'}
            onChange={(e) => void model.setPresence(e.currentTarget.checked ? 'online' : 'away')}
          />
          <span>{h.available}</span>
          <span class={`presence-state presence-${model.presence}`} id="presence-state">
            {model.presence === 'online' ? h.online : h.away}
          </span>
        </label>
        <button type="button" onClick={() => void model.signOut()}>
          {h.signOut}
        </button>
      </header>
      <nav class="sidebar" aria-label={strings.conversations.heading}>
        <QueueList model={model} />
        <ConversationList model={model} />
      </nav>
      <main class="main">
        <CallPanel model={model} />
        {selected ? (
          <ConversationView key={selected.id} model={model} state={selected} />
        ) : (
          <p class="empty-main muted">{strings.conversation.none}</p>
        )}
      </main>
      <aside class="details" aria-label={strings.details.heading}>
        {selected ? <VisitorDetails model={model} state={selected} /> : null}
      </aside>
    </div>
  );
}
