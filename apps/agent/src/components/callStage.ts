/** The id of the one element the SDK draws the agent's call into (the agent is in one call at a time). */
export const CALL_STAGE_ID = 'call-stage';
