import type { RtpSenderLike } from './MediaHandler.ts';

/** How long a video sender keeps its full resolution after its track is given, before it may scale down for the link. */
export const FULL_RESOLUTION_START_MS = 2_000;

/**
 * Starts a video sender's new track at full resolution (used when a call of two is accepted on its prepared path). A new encoder meets the link's starting estimate
 * (Chromium: 300 kbit/s, nothing having been sent on it yet), and by default it drops its first frames of a 720p
 * camera while it scales them down to fit: the first video packet left about 260 ms after the track was given,
 * against about 100 ms at 640×480 or with this (two pages on loopback, headless Chromium 156). For the first
 * seconds the sender lowers its frame rate instead, then goes back to its preference as it was, so a link that
 * stays short is met by a lower resolution as before. A sender without parameters, or one changed meanwhile
 * (a key-frame refresh), is left as it is.
 */
export async function startAtFullResolution(sender: RtpSenderLike, stillSending: () => boolean): Promise<void> {
  if (!sender.getParameters || !sender.setParameters) return;
  const parameters = sender.getParameters();
  const before = parameters.degradationPreference;
  if (before === 'maintain-resolution') return;
  try {
    await sender.setParameters({ ...parameters, degradationPreference: 'maintain-resolution' });
  } catch {
    return; // another change of the parameters under way: the default start is no worse than before
  }
  setTimeout(() => {
    if (!stillSending() || !sender.getParameters || !sender.setParameters) return;
    const now = sender.getParameters();
    if (now.degradationPreference !== 'maintain-resolution') return;
    const back = { ...now };
    if (before === undefined) delete back.degradationPreference;
    else back.degradationPreference = before;
    sender.setParameters(back).catch(() => undefined);
  }, FULL_RESOLUTION_START_MS);
}

/** The estimate (kbit/s) a new link starts from, instead of the browser's 300: enough for a 720p key frame at once. */
export const START_BITRATE_KBPS = 1_000;

const VIDEO_CODECS = /^a=rtpmap:(\d+) (VP8|VP9|H264|AV1)\/90000\r?$/gm;

/**
 * A remote description whose video codecs ask the browser to start its estimate at {@link START_BITRATE_KBPS}
 * (Chromium's `x-google-start-bitrate`; other browsers ignore it). At 300 kbit/s the first 720p key frame took
 * about 55 ms more to arrive whole. The estimate moves from there as usual: a link that carries less is found
 * within the first second. Codecs that name a start already keep theirs.
 */
export function withStartBitrate(sdp: string | undefined): string | undefined {
  if (!sdp) return sdp;
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  let out = sdp;
  for (const [, pt] of sdp.matchAll(VIDEO_CODECS)) {
    const fmtp = new RegExp(`^a=fmtp:${pt} ([^\\r\\n]*)$`, 'm');
    const found = fmtp.exec(out);
    if (found) {
      if (!found[1]!.includes('x-google-start-bitrate')) out = out.replace(fmtp, `a=fmtp:${pt} $1;x-google-start-bitrate=${START_BITRATE_KBPS}`);
    } else {
      out = out.replace(new RegExp(`^(a=rtpmap:${pt} [^\\r\\n]*)$`, 'm'), `$1${eol}a=fmtp:${pt} x-google-start-bitrate=${START_BITRATE_KBPS}`);
    }
  }
  return out;
}
