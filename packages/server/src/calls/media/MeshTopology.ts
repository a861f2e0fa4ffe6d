import { LIMITS, type MediaAccess } from '@parley/protocol';
import type { MediaTopology } from './MediaTopology.ts';

/** Peer-to-peer: every page links to every other page; the server only relays signaling. */
export class MeshTopology implements MediaTopology {
  readonly kind = 'mesh' as const;
  readonly capacityHint: string;

  /** `capacity`: each page sends its media once per other page, so a mesh stays small (MESH_MAX_PARTICIPANTS). */
  constructor(readonly capacity: number = LIMITS.maxMeshParticipants) {
    this.capacityHint = `peer-to-peer calls carry up to ${capacity} people; set JANUS_URL to run calls through a Janus SFU for more`;
  }

  async open(): Promise<void> {}

  async access(): Promise<MediaAccess> {
    return { kind: 'mesh' };
  }

  async revoke(): Promise<void> {}

  async close(): Promise<void> {}

  async shutdown(): Promise<void> {}
}
