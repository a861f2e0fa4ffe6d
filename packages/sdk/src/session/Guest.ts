import { callStoragePrefix } from '../call/CallStorage.ts';
import { resolveCallOptions } from '../call/callOptions.ts';
import { ContactVideoApi } from '../call/ContactVideoApi.ts';
import { ParleyError } from '../errors.ts';
import { resolveEnvironment, type ConnectOptions } from '../options.ts';
import { SignalingChannel, type ConnectionState } from '../signaling/SignalingChannel.ts';
import { readJson, writeJson, type KeyValueStorage } from '../storage.ts';
import type { GuestJoinResponse, Party, PushFrame, ReadyFrame } from '../wire.ts';

/** Options of `Parley.joinAsGuest`. */
export interface GuestJoinOptions extends ConnectOptions {
  /** The invitation token (the part after `#` in the link). */
  token: string;
  /** How the guest is shown to the others. */
  name: string;
  /** Where the call is drawn: `document.getElementById(divID)`. */
  divID: string;
}

/**
 * A guest in one call, let in by an invitation link: it sees and hears the call and nothing of the
 * conversation's transcript. It has the call half of a Contact (`video`, mute, camera, `leaveVideo`,
 * participant events, `getCallStats`); `endVideo` leaves too — a guest never ends the call for others.
 * After a page reload, joining again with the same link resumes the same guest (the redeemed link is kept
 * in storage until it expires), within the server's grace period.
 */
export class GuestContact extends ContactVideoApi {
  private readonly channel: SignalingChannel;
  private readonly self: Party;
  /** The conversation whose call this guest is in. */
  readonly sessionID: string;

  private constructor(channel: SignalingChannel, admission: GuestJoinResponse, storage: KeyValueStorage, server: string, options: ConnectOptions) {
    super(
      {
        sessionID: admission.sessionID,
        self: admission.guest,
        request: (type, body) => channel.request(type, body),
        send: (frame) => channel.send(frame),
        checkConnection: () => channel.verify(),
        storage,
        storagePrefix: callStoragePrefix(server),
        options: resolveCallOptions(options.call),
      },
      null,
    );
    this.channel = channel;
    this.self = admission.guest;
    this.sessionID = admission.sessionID;
  }

  /** Redeems the link (or resumes it after a reload), connects, and joins the call at once. */
  static async join(options: GuestJoinOptions): Promise<GuestContact> {
    if (typeof options.token !== 'string' || options.token.length === 0) throw ParleyError.invalid('the invitation token is missing');
    const env = resolveEnvironment(options);
    const key = `parley:${env.address.base}:guest:${options.token.slice(-24)}`;
    let admission = readJson<GuestJoinResponse>(env.storage, key);
    if (!admission || Date.parse(admission.expiresAt) <= Date.now()) {
      admission = await env.http.post<GuestJoinResponse>('/api/guests', { token: options.token, name: options.name });
      writeJson(env.storage, key, admission);
    }
    const channel = new SignalingChannel({
      url: env.address.websocket,
      token: admission.token,
      WebSocket: options.WebSocket,
      requestTimeoutMs: options.requestTimeoutMs,
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      retryPolicy: options.retryPolicy,
      inCall: () => guest.inCall,
    });
    const guest: GuestContact = new GuestContact(channel, admission, env.storage, env.address.base, options);
    let ready: ReadyFrame;
    try {
      ready = await channel.connect();
    } catch (err) {
      if (err instanceof ParleyError && err.code === 'unauthorized') env.storage.removeItem(key);
      throw err;
    }
    const call = ready.guest?.call ?? null;
    if (!call || call.callId !== admission.callId) {
      env.storage.removeItem(key);
      channel.disconnect();
      throw new ParleyError('conflict', 'the call is over');
    }
    guest.wire(key, env.storage);
    guest.call.apply(call);
    guest.call.activate();
    guest.call.joinNow(options.divID);
    return guest;
  }

  /** The guest as a party of the call. */
  get party(): Party {
    return this.self;
  }

  /** The connection state. */
  get connectionState(): ConnectionState {
    return this.channel.state;
  }

  /** Leaves the call (if still in it) and closes the connection. */
  disconnect(): void {
    this.call.parentClosed(null);
    this.channel.disconnect();
  }

  private wire(key: string, storage: KeyValueStorage): void {
    this.channel.on('frame', (frame: PushFrame) => {
      if (frame.type === 'call.updated') this.receiveCall(frame.call);
      else if (frame.type === 'signal') this.receiveSignal(frame);
    });
    this.channel.on('ready', (ready, { reconnected }) => {
      if (reconnected) this.call.connectionRestored(ready.guest?.call ?? null);
    });
    // Once the call is over for this guest, the link is spent: a reload shows that, not a rejoin.
    this.on('videoEnded', () => storage.removeItem(key));
  }
}
