import type { CallStatsRow } from './events.ts';
import type { StatsReportLike } from './MediaHandler.ts';

/**
 * Reduces one peer connection's `getStats()` report to a row: audio packets received and video
 * frames decoded (inbound-rtp), round-trip time of the selected candidate pair, and the share of
 * inbound packets lost.
 */
export function statsRow(participantId: string, report: StatsReportLike): CallStatsRow {
  let audioPacketsReceived = 0;
  let videoFramesDecoded = 0;
  let received = 0;
  let lost = 0;
  let roundTripTimeMs: number | undefined;
  let audioLevel: number | undefined;
  report.forEach((stat) => {
    if (stat.type === 'inbound-rtp') {
      const kind = stat.kind ?? stat.mediaType;
      const packets = num(stat.packetsReceived);
      received += packets;
      lost += Math.max(0, num(stat.packetsLost));
      if (kind === 'audio') audioPacketsReceived += packets;
      if (kind === 'audio' && typeof stat.audioLevel === 'number') audioLevel = Math.max(audioLevel ?? 0, stat.audioLevel);
      if (kind === 'video') videoFramesDecoded += num(stat.framesDecoded);
    } else if (stat.type === 'candidate-pair' && stat.state === 'succeeded' && (stat.nominated === true || stat.selected === true)) {
      if (typeof stat.currentRoundTripTime === 'number') roundTripTimeMs = Math.round(stat.currentRoundTripTime * 1000);
    }
  });
  const row: CallStatsRow = { participantId, audioPacketsReceived, videoFramesDecoded };
  if (roundTripTimeMs !== undefined) row.roundTripTimeMs = roundTripTimeMs;
  if (audioLevel !== undefined) row.audioLevel = audioLevel;
  if (received + lost > 0) row.packetLossPct = Math.round((lost / (received + lost)) * 10_000) / 100;
  return row;
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}
