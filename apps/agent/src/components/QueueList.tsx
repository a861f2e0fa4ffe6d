import { useEffect, useState } from 'preact/hooks';
import { formatWait } from '../format.ts';
import type { WorkspaceModel } from '../model/WorkspaceModel.ts';
import { strings } from '../strings.ts';

/** Redraws every few seconds so wait times stay current. */
function useNow(intervalMs: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

/** Visitors waiting for an agent, oldest first, each with its wait time and Accept; the first N, and K more. */
export function QueueList({ model }: { model: WorkspaceModel }) {
  const s = strings.queue;
  const now = useNow(5_000);
  return (
    <section class="panel" aria-labelledby="queue-heading">
      <h2 id="queue-heading">
        {s.heading} <span class="count">{model.queueSize}</span>
      </h2>
      {model.notice ? <p class="error" role="alert">{model.notice}</p> : null}
      {model.queue.length === 0 ? (
        <p class="muted">{s.empty}</p>
      ) : (
        <ul class="queue" id="queue">
          {model.queue.map((q) => {
            const describedBy = `queue-${q.sessionID}`;
            return (
              <li key={q.sessionID} class="queue-item">
                <div id={describedBy} class="queue-text">
                  <span class="name queue-name">{q.visitor.name}</span>
                  <span class="muted"> · {s.waiting(formatWait(now - Date.parse(q.waitingSince)))}</span>
                  {q.firstMessage ? <span class="preview">{q.firstMessage}</span> : null}
                </div>
                <button type="button" class="primary" aria-describedby={describedBy} onClick={() => void model.accept(q.sessionID)}>
                  {s.accept}
                </button>
              </li>
            );
          })}
        </ul>
      )}
      {model.queueSize > model.queue.length ? (
        <p class="muted queue-more" id="queue-more">
          {s.more(model.queueSize - model.queue.length)}
        </p>
      ) : null}
    </section>
  );
}
