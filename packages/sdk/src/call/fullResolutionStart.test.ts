import assert from 'node:assert/strict';
import { test } from 'node:test';
import { START_BITRATE_KBPS, withStartBitrate } from './fullResolutionStart.ts';

const offer = [
  'v=0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 98',
  'a=rtpmap:96 VP8/90000',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'a=rtpmap:98 H264/90000',
  'a=fmtp:98 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  '',
].join('\r\n');

test('asks every video codec to start its estimate higher, leaving audio, retransmission and a start already named as they are', () => {
  const out = withStartBitrate(offer)!;
  assert.match(out, new RegExp(`a=rtpmap:96 VP8/90000\\r\\na=fmtp:96 x-google-start-bitrate=${START_BITRATE_KBPS}\\r\\n`), 'a codec without fmtp gets one');
  assert.match(out, new RegExp(`a=fmtp:98 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f;x-google-start-bitrate=${START_BITRATE_KBPS}\\r\\n`));
  assert.match(out, /a=fmtp:97 apt=96\r\n/, 'rtx untouched');
  assert.match(out, /a=fmtp:111 minptime=10;useinbandfec=1\r\n/, 'audio untouched');
  assert.equal(withStartBitrate(out), out, 'a start already named is kept: applying it twice changes nothing');
  assert.equal(withStartBitrate(undefined), undefined);
});
