import type { CallEndReason, Party } from '@parley/protocol';

/** Transcript wording for call events, kept in one place. */

export function kindOf(useVideo: boolean): string {
  return useVideo ? 'video call' : 'voice call';
}

export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${s} s`;
  return `${s} s`;
}

export function endedText(kind: string, reason: CallEndReason, by: Party | null, durationMs: number | null): string {
  const Kind = kind[0]!.toUpperCase() + kind.slice(1);
  const after = durationMs !== null ? ` after ${formatDuration(durationMs)}` : '';
  switch (reason) {
    case 'hangup':
      return `${Kind} ended by ${by?.name ?? 'a participant'}${after}`;
    case 'declined':
      return `${by?.name ?? 'The other side'} declined the ${kind}`;
    case 'cancelled':
      return `${by?.name ?? 'The caller'} cancelled the ${kind}`;
    case 'timeout':
      return `${Kind} not answered`;
    case 'failed':
      return by ? `${Kind} ended: ${by.name}'s connection was lost${after}` : `${Kind} ended: the connection failed${after}`;
    case 'closed':
      return `${Kind} ended: the conversation was closed${after}`;
    case 'media-denied':
      return `${Kind} ended: ${by?.name ?? 'a participant'} has no camera or microphone available${after}`;
  }
}
