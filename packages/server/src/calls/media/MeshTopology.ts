import { LIMITS, type MediaAccess } from '@parley/protocol';
import type { MediaTopology } from './MediaTopology.ts';

/** Peer-to-peer: every page links to every other page; the server only relays signaling. */
export class MeshTopology implements MediaTopology {
  readonly kind = 'mesh' as const;
  readonly capacity = LIMITS.maxMeshParticipants;
  readonly capacityHint = `peer-to-peer calls carry up to ${LIMITS.maxMeshParticipants} people; set JANUS_URL to run calls through a Janus SFU for more`;

  async open(): Promise<void> {}

  async access(): Promise<MediaAccess> {
    return { kind: 'mesh' };
  }

  async revoke(): Promise<void> {}

  async close(): Promise<void> {}

  async shutdown(): Promise<void> {}
}
