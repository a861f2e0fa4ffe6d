import type { WorkspaceModel } from '../model/WorkspaceModel.ts';
import { strings } from '../strings.ts';

/** The agent's conversations with unread counts; the selected one is marked current. */
export function ConversationList({ model }: { model: WorkspaceModel }) {
  const s = strings.conversations;
  return (
    <section class="panel" aria-labelledby="conversations-heading">
      <h2 id="conversations-heading">{s.heading}</h2>
      {model.conversations.length === 0 ? (
        <p class="muted">{s.empty}</p>
      ) : (
        <ul class="conversations" id="conversations">
          {model.conversations.map((c) => {
            const last = c.messages[c.messages.length - 1];
            return (
              <li key={c.id}>
                <button
                  type="button"
                  class="conversation-item"
                  aria-current={c.id === model.selectedId ? 'true' : undefined}
                  onClick={() => model.select(c.id)}
                >
                  <span class="name conversation-name">{c.visitorName}</span>
                  {c.closed ? <span class="muted"> ({s.closed})</span> : null}
                  {c.unread > 0 ? (
                    <span class="badge">
                      <span aria-hidden="true">{c.unread}</span>
                      <span class="visually-hidden">{s.unread(c.unread)}</span>
                    </span>
                  ) : null}
                  {last ? <span class="preview">{last.text}</span> : null}
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
