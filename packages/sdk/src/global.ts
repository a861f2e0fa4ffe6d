/**
 * The script-tag build: `<script src="{server}/sdk/parley.js"></script>` defines `window.Parley`
 * (with the classes alongside, e.g. `Parley.ParleyError` for `instanceof` checks, and `Parley.DeviceCheck`
 * for a pre-call check).
 */
import { DeviceCheck } from './call/DeviceCheck.ts';
import { Parley } from './Parley.ts';
import { Agent } from './session/Agent.ts';
import { GuestContact } from './session/Guest.ts';
import { Contact } from './conversation/Contact.ts';
import { MemoryStorage } from './storage.ts';
import { ParleyError } from './errors.ts';
import { Visitor } from './session/Visitor.ts';

/** What `window.Parley` holds. */
export const ParleyGlobal = { ...Parley, Visitor, Agent, Contact, GuestContact, ParleyError, MemoryStorage, DeviceCheck };

declare global {
  interface Window {
    /** The Parley SDK, defined by `/sdk/parley.js`. */
    Parley: typeof ParleyGlobal;
  }
}

if (typeof window !== 'undefined') window.Parley = ParleyGlobal;
