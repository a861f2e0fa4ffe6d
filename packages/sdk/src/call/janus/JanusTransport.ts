import type { MediaAccess } from '../../wire.ts';
import type { MediaTransport, MediaTransportDeps } from '../MediaTransport.ts';

/** Placeholder until the Janus VideoRoom transport lands. */
export function createJanusTransport(_access: Extract<MediaAccess, { kind: 'sfu' }>, _deps: MediaTransportDeps): MediaTransport {
  throw new Error('Janus transport is not available yet');
}
