import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import type { MediaTopology } from './MediaTopology.ts';
import { MeshTopology } from './MeshTopology.ts';

/** The media topology the configuration asks for (peer-to-peer until the Janus adapter lands). */
export function createMediaTopology(_config: Config, _log: Logger): MediaTopology {
  return new MeshTopology();
}
