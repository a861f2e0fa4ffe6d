import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import { JanusTopology, type RoomStore } from './JanusTopology.ts';
import type { MediaTopology } from './MediaTopology.ts';
import { MeshTopology } from './MeshTopology.ts';

export type { MediaTopology } from './MediaTopology.ts';
export { JanusTopology } from './JanusTopology.ts';
export { MeshTopology } from './MeshTopology.ts';

/** The Media adapter the configuration asks for: a Janus VideoRoom SFU when JANUS_URL is set, else peer-to-peer. */
export function createMediaTopology(config: Pick<Config, 'janus' | 'meshMaxParticipants'>, log: Logger, rooms?: RoomStore): MediaTopology {
  return config.janus ? new JanusTopology({ janus: config.janus, log, ...(rooms ? { rooms } : {}) }) : new MeshTopology(config.meshMaxParticipants);
}
