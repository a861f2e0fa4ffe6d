/*
 * An init script for a test page (bundled by e2e/support/media.ts `pageScript`): one more camera than Chromium's
 * fake capture has. `enumerateDevices()` lists it; `getUserMedia` for exactly its id answers with the track of an
 * animated 400×400 canvas (`canvas.captureStream`), so a receiver tells it from the fake camera by its square
 * shape. Every other request goes to the browser untouched.
 */

/** The id of the canvas camera. */
export const CANVAS_CAMERA = 'e2e-canvas-camera';

/** Adds the canvas camera with `id` to this page's devices. */
export function addCanvasCamera(id: string): void {
  const devices = navigator.mediaDevices;
  const enumerate = devices.enumerateDevices.bind(devices);
  const open = devices.getUserMedia.bind(devices);
  devices.enumerateDevices = async () => {
    const camera = { kind: 'videoinput', deviceId: id, groupId: id, label: 'Canvas camera (test)', toJSON: () => ({}) };
    return [...(await enumerate()), camera as MediaDeviceInfo];
  };
  devices.getUserMedia = async (constraints) => {
    const video = constraints?.video;
    const wanted = typeof video === 'object' ? (video.deviceId as { exact?: string } | undefined)?.exact : undefined;
    if (wanted !== id) return open(constraints);
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 400;
    const context = canvas.getContext('2d')!;
    let frame = 0;
    const draw = () => {
      context.fillStyle = `hsl(${(frame += 7) % 360} 70% 50%)`;
      context.fillRect(0, 0, 400, 400);
      context.fillStyle = '#fff';
      context.fillText(String(frame), 20 + (frame % 300), 200);
    };
    draw();
    const timer = setInterval(draw, 33);
    const track = canvas.captureStream(30).getVideoTracks()[0]!;
    const settings = track.getSettings.bind(track);
    track.getSettings = () => ({ ...settings(), deviceId: id });
    const stop = track.stop.bind(track);
    track.stop = () => {
      clearInterval(timer);
      stop();
    };
    const stream = new MediaStream([track]);
    if (constraints?.audio) for (const mic of (await open({ audio: constraints.audio })).getAudioTracks()) stream.addTrack(mic);
    return stream;
  };
}

if (typeof window !== 'undefined' && typeof navigator !== 'undefined' && navigator.mediaDevices) addCanvasCamera(CANVAS_CAMERA);
