import type { CallTopology, MediaAccess } from '@parley/protocol';

/**
 * The Media port: how a call's media travels. The call service never knows which adapter runs.
 *  - {@link MeshTopology} (embedded default): pages link to each other directly; nothing to set up here.
 *  - JanusTopology (`JANUS_URL`, one Janus or a pool): a Janus VideoRoom per call, made when the call is
 *    accepted and destroyed when it ends (stored, so a restarted node uses it again, and any node can admit
 *    to it); each participant gets a credential for that one room only. When its Janus dies the room is
 *    made on another one, and `onMoved` says so.
 * The Parley server never carries media in either case.
 */
export interface MediaTopology {
  readonly kind: CallTopology;
  /** Most participants one call carries. */
  readonly capacity: number;
  /** What to tell someone refused for capacity: how to carry more. */
  readonly capacityHint: string;
  /** The call was accepted: prepare its media (a room). Idempotent per call. */
  open(callId: string): Promise<void>;
  /** What one participant needs to reach the call's media; `open` has been called. */
  access(callId: string, partyId: string): Promise<MediaAccess>;
  /** A participant left or was removed: it loses access (kicked from the room). Never throws. */
  revoke(callId: string, partyId: string): Promise<void>;
  /** The call ended: everything made for it goes. Never throws. */
  close(callId: string): Promise<void>;
  /** This node stops: closes the adapter's connections; calls' media keeps running for the next start. */
  shutdown(): Promise<void>;
  /**
   * Registers `listener` for calls whose media moved (their media server died and their room is now on
   * another): the participants' access changed, so they must `access` it again. `moves` counts the moves
   * of that call's media so far. Adapters whose media never moves do not have it.
   */
  onMoved?(listener: (callId: string, moves: number) => void): void;
}
