import { ParleyError } from '../errors.ts';
import { DomCallView, type DocumentLike } from './DomCallView.ts';
import type {
  CallView,
  MediaDeviceInfoLike,
  MediaHandler,
  MediaRequest,
  MediaStreamLike,
  PeerConnectionConfig,
  PeerConnectionLike,
} from './MediaHandler.ts';

/**
 * The {@link MediaHandler} of a real browser: `RTCPeerConnection`, `navigator.mediaDevices.getUserMedia`
 * and the page's `document`. Deliberately thin: the logic lives in the engine, tested in Node.
 */
export class BrowserMediaHandler implements MediaHandler {
  /** A real `RTCPeerConnection`. */
  createPeerConnection(config: PeerConnectionConfig): PeerConnectionLike {
    if (typeof RTCPeerConnection === 'undefined') throw ParleyError.unavailable('this browser has no WebRTC');
    return new RTCPeerConnection(config) as unknown as PeerConnectionLike;
  }

  /** Opens the camera and/or microphone with `navigator.mediaDevices.getUserMedia`. @throws the browser's DOMException. */
  getUserMedia(request: MediaRequest): Promise<MediaStreamLike> {
    const devices = typeof navigator !== 'undefined' ? navigator.mediaDevices : undefined;
    if (!devices?.getUserMedia) {
      const error = new Error('camera and microphone need a secure (https) page');
      error.name = 'SecurityError';
      return Promise.reject(error);
    }
    const exact = (id: string | undefined) => (id ? { deviceId: { exact: id } } : {});
    return devices.getUserMedia({
      audio: request.audio ? { echoCancellation: true, noiseSuppression: true, ...exact(request.audioDeviceId) } : false,
      video: request.video ? { width: { ideal: 1280 }, height: { ideal: 720 }, ...exact(request.videoDeviceId) } : false,
    }) as unknown as Promise<MediaStreamLike>;
  }

  /** Asks for a screen, window or tab with `navigator.mediaDevices.getDisplayMedia` (video only). @throws the browser's DOMException. */
  getDisplayMedia(): Promise<MediaStreamLike> {
    const devices = typeof navigator !== 'undefined' ? navigator.mediaDevices : undefined;
    if (!devices?.getDisplayMedia) {
      const error = new Error('this browser cannot share a screen (or the page is not secure)');
      error.name = 'NotSupportedError';
      return Promise.reject(error);
    }
    return devices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false }) as unknown as Promise<MediaStreamLike>;
  }

  /** `navigator.mediaDevices.enumerateDevices()`; none where the page may not use devices (not https). */
  async enumerateDevices(): Promise<MediaDeviceInfoLike[]> {
    const devices = typeof navigator !== 'undefined' ? navigator.mediaDevices : undefined;
    if (!devices?.enumerateDevices) return [];
    return (await devices.enumerateDevices()) as MediaDeviceInfoLike[];
  }

  /** Listens to `devicechange` on `navigator.mediaDevices`. */
  watchDevices(listener: () => void): () => void {
    const devices = typeof navigator !== 'undefined' ? navigator.mediaDevices : undefined;
    if (!devices?.addEventListener) return () => {};
    devices.addEventListener('devicechange', listener);
    return () => devices.removeEventListener('devicechange', listener);
  }

  /** An empty `MediaStream`. */
  createStream(): MediaStreamLike {
    return new MediaStream() as unknown as MediaStreamLike;
  }

  /** A {@link DomCallView} drawing into `document.getElementById(divID)`. */
  createView(divID: string | null): CallView {
    return new DomCallView(document as unknown as DocumentLike, divID);
  }
}
