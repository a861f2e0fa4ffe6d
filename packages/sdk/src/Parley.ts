import { BrowserMediaHandler } from './call/BrowserMediaHandler.ts';
import { listDevices, type DeviceList } from './call/devices.ts';
import type { MediaHandler } from './call/MediaHandler.ts';
import { Agent, type AgentConnectOptions } from './session/Agent.ts';
import { GuestContact, type GuestJoinOptions } from './session/Guest.ts';
import { Visitor, type VisitorConnectOptions } from './session/Visitor.ts';

/**
 * The SDK's entry points. In a page loaded with `<script src="{server}/sdk/parley.js">` it is
 * `window.Parley`; as a module, `import { Parley } from '@parley/sdk'`.
 *
 * @example
 * ```ts
 * // A visitor on a website
 * const visitor = await Parley.connectVisitor({ server: 'https://chat.example.com' });
 * const contact = await visitor.startChat({ text: 'Hello' });
 *
 * // An agent in the workspace
 * const agent = await Parley.connectAgent({ server: 'https://chat.example.com', email, password });
 * agent.on('contact', (c) => c.sendMessage('Hi, how can I help?'));
 * ```
 */
export const Parley = {
  /**
   * Connects a website visitor. The identity is kept in storage, so a reload resumes the same visitor
   * and its open conversation (`visitor.contact`).
   * @throws ParleyError `unavailable` when the server cannot be reached, `invalid_frame` for a bad `server`.
   */
  connectVisitor(options: VisitorConnectOptions): Promise<Visitor> {
    return Visitor.connect(options);
  },

  /**
   * Connects a support agent with email and password, or with a token from an earlier sign-in.
   * @throws ParleyError `unauthorized` for wrong credentials, `unavailable` when the server cannot be reached.
   */
  connectAgent(options: AgentConnectOptions): Promise<Agent> {
    return Agent.connect(options);
  },

  /**
   * Joins a running call as a guest, from an invitation link made with `contact.createGuestInvite()`: redeems
   * the link (once), connects, and joins at once, drawn into `document.getElementById(divID)`.
   * @throws ParleyError `unauthorized` (tampered link), `invite_expired`, `invite_used`, `capacity` (call full),
   *   `conflict` (the call is over).
   * @example
   * ```ts
   * const token = location.hash.slice(1);
   * const guest = await Parley.joinAsGuest({ server: location.origin, token, name: 'Sam', divID: 'call' });
   * guest.on('videoEnded', (e) => showEnded(e.reason));
   * ```
   */
  joinAsGuest(options: GuestJoinOptions): Promise<GuestContact> {
    return GuestContact.join(options);
  },

  /**
   * The cameras, microphones and speakers of this browser, for pickers and `contact.setDevices()`. Labels
   * (and, in some browsers, ids) are empty until the page was granted a camera or microphone; the list is
   * empty where the page may not use devices (not https). `media`: another browser boundary (tests).
   * @example
   * ```ts
   * const { cameras, microphones, speakers } = await Parley.listDevices();
   * for (const mic of microphones) picker.add(new Option(mic.label || 'Microphone', mic.id));
   * ```
   */
  listDevices(media: MediaHandler = new BrowserMediaHandler()): Promise<DeviceList> {
    return listDevices(media);
  },
};
