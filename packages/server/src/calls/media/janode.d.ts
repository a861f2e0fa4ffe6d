/*
 * Types for the part of janode (the Janus client, plain JavaScript without its own declarations) that
 * JanusTopology uses: a connection, a session on it, and a VideoRoom handle for room administration.
 */
declare module 'janode' {
  import type { EventEmitter } from 'node:events';

  /** Errors from Janus or its plugins: the message is "<code> <reason>"; plugin errors also carry `_code`. */
  export interface JanodeError extends Error {
    _code?: number;
  }

  export interface JanodeServerAddress {
    url: string;
    apisecret?: string;
  }

  export interface JanodeConfig {
    address: JanodeServerAddress | JanodeServerAddress[];
    /** Seconds between connection attempts. */
    retry_time_secs?: number;
    /** Attempts after the first before `connect` rejects. */
    max_retries?: number;
    is_admin?: boolean;
    ws_options?: Record<string, unknown>;
  }

  /** A raw Janus message as it arrived (a plugin's answer sits in `plugindata.data`). */
  export interface JanusMessage {
    janus: string;
    plugindata?: { plugin: string; data: Record<string, unknown> };
    [key: string]: unknown;
  }

  export interface JanodeHandle extends EventEmitter {
    readonly id: number;
    message(body: Record<string, unknown>, jsep?: Record<string, unknown>): Promise<JanusMessage>;
    detach(): Promise<void>;
  }

  export interface JanodePlugin<H extends JanodeHandle> {
    id: string;
    Handle: new (...args: never[]) => H;
    EVENT: Record<string, string>;
  }

  export interface JanodeSession extends EventEmitter {
    readonly id: number;
    attach<H extends JanodeHandle>(plugin: JanodePlugin<H>): Promise<H>;
    destroy(): Promise<void>;
  }

  export interface JanodeConnection extends EventEmitter {
    readonly id: number;
    /** A session, kept alive by janode every `keepaliveSeconds` (default 30). */
    create(keepaliveSeconds?: number): Promise<JanodeSession>;
    getInfo(): Promise<JanusMessage>;
    close(): Promise<void>;
  }

  const Janode: {
    connect(config: JanodeConfig): Promise<JanodeConnection>;
    Logger: { setLevel(level: 'none' | 'error' | 'warning' | 'info' | 'verbose' | 'debug'): string };
    EVENT: {
      CONNECTION_CLOSED: 'connection_closed';
      SESSION_DESTROYED: 'session_destroyed';
      HANDLE_DETACHED: 'handle_detached';
      CONNECTION_ERROR: 'connection_error';
    };
  };
  export default Janode;
}

declare module 'janode/plugins/videoroom' {
  import type { JanodeHandle, JanodePlugin } from 'janode';

  export interface VideoRoomParticipant {
    feed: number;
    display?: string;
    publisher: boolean;
  }

  export interface VideoRoomHandle extends JanodeHandle {
    listParticipants(params: { room: number; secret?: string }): Promise<{ room: number; participants: VideoRoomParticipant[] }>;
    kick(params: { room: number; feed: number; secret?: string }): Promise<unknown>;
    exists(params: { room: number }): Promise<{ room: number; exists: boolean }>;
    destroy(params: { room: number; permanent?: boolean; secret?: string }): Promise<unknown>;
    allow(params: { room: number; action: 'enable' | 'disable' | 'add' | 'remove'; list?: string[]; secret?: string }): Promise<{ room: number; list: string[] }>;
  }

  const VideoRoomPlugin: JanodePlugin<VideoRoomHandle>;
  export default VideoRoomPlugin;
}
