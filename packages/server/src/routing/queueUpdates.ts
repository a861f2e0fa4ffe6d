import type { QueuedConversation, QueueUpdatedFrame } from '@parley/protocol';
import { LIMITS } from '@parley/protocol';

/**
 * The `queue.updated` frames for the changes of one flush, given the queue as it is now (oldest first) and the
 * sessionIDs that entered and left it since the last flush. Every frame is bounded: one added entry, or at most
 * `LIMITS.maxQueueRemovedPerFrame` removed ids. An entry further back than a page can reach is only counted
 * in `size`, so a flood costs each agent one small frame per flush, whatever the queue's length.
 */
export function queueUpdates(queue: readonly QueuedConversation[], added: ReadonlySet<string>, removed: ReadonlySet<string>): QueueUpdatedFrame[] {
  const size = queue.length;
  const frames: QueueUpdatedFrame[] = [];
  const waiting = new Set(queue.map((q) => q.sessionID));
  const gone = [...removed].filter((id) => !waiting.has(id));
  for (let i = 0; i < gone.length; i += LIMITS.maxQueueRemovedPerFrame) {
    frames.push({ type: 'queue.updated', size, removed: gone.slice(i, i + LIMITS.maxQueueRemovedPerFrame) });
  }
  // The first added entry rides on the last removal frame, so a take-and-arrive is one frame.
  let carrier = frames.at(-1);
  const reach = Math.min(size, LIMITS.maxQueuePage);
  for (let position = 0; position < reach; position++) {
    const entry = queue[position];
    if (entry === undefined || !added.has(entry.sessionID)) continue;
    if (carrier !== undefined) Object.assign(carrier, { added: entry, position });
    else frames.push({ type: 'queue.updated', size, added: entry, position });
    carrier = undefined;
  }
  if (frames.length === 0 && (added.size > 0 || removed.size > 0)) frames.push({ type: 'queue.updated', size });
  return frames;
}

/** `text` cut to at most `max` UTF-16 code units, ending in `…` when cut, never splitting a surrogate pair. */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}
