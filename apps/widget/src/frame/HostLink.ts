import { CHANNEL_TAG, readHostMessage, type FrameToHost, type HostToFrame } from '../channel.ts';

/** A message to the host without the channel tag (added when posting). */
export type FrameMessage = FrameToHost extends infer M ? (M extends FrameToHost ? Omit<M, 'tag'> : never) : never;

/**
 * The frame's end of the loader↔frame channel. Posts only to the host origin the frame was given
 * (pinned), and accepts only messages from its parent window on that origin.
 */
export class HostLink {
  constructor(
    private readonly hostOrigin: string,
    private readonly parent: Window | null,
    onMessage: (message: HostToFrame) => void,
  ) {
    window.addEventListener('message', (event) => {
      if (event.origin !== this.hostOrigin || !this.parent || event.source !== this.parent) return;
      const message = readHostMessage(event.data);
      if (message) onMessage(message);
    });
  }

  /** Sends a message to the loader (nothing happens when the frame is not embedded). */
  post(message: FrameMessage): void {
    this.parent?.postMessage({ ...message, tag: CHANNEL_TAG }, this.hostOrigin);
  }
}
