/*
 * @parley/protocol: the wire protocol shared by server and SDK. This entry point carries the zod schemas
 * (for validating at the edge). The zod-free parts have their own entry points, for the browser:
 *   @parley/protocol/party   Party, Role, SYSTEM_PARTY
 *   @parley/protocol/limits  LIMITS, PROTOCOL_VERSION, checkMessageText
 *   @parley/protocol/call    the call state machine and its rules (isLive, inProgress, answererRole, …)
 */
export * from './limits.ts';
export * from './errors.ts';
export * from './party.ts';
export * from './model.ts';
export * from './frames.ts';
export * from './http.ts';
export * from './call.ts';
export * from './callSnapshot.ts';
export * from './callFrames.ts';
