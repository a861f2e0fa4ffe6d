import type { Party } from '@parley/protocol';
import { ParleyServerError } from '../errors.ts';

/** Refuses (`forbidden`) anyone but an agent. */
export function requireAgent(party: Party): void {
  if (party.role !== 'agent') throw ParleyServerError.forbidden('only agents may do this');
}
