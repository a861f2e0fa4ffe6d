import { DeviceCheck } from '@parley/sdk';
import { useEffect, useRef } from 'preact/hooks';
import { strings as t } from '../strings.ts';
import type { CallModel } from './CallModel.ts';

/**
 * The pre-call check (the SDK's DeviceCheck: camera preview, microphone level, speaker test, pickers), open
 * while the panel is shown; what is picked there is what the call opens. A device that cannot be opened shows
 * the usual help (MediaHelp) with its way on.
 */
export function DeviceCheckPanel({ calls, video }: { calls: CallModel; video: boolean }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    let check: DeviceCheck | null = null;
    let gone = false;
    void DeviceCheck.open(host.current!, { video }).then((opened) => {
      if (gone) return opened.close();
      check = opened;
      calls.checkOpened(opened);
      const failed = (failure: (typeof opened.failures)[number]) => calls.checkFailed(failure.device, failure.code === 'media-missing');
      opened.failures.forEach(failed);
      opened.on('unavailable', failed);
    });
    return () => {
      gone = true;
      check?.close();
    };
  }, [calls, video]);
  return <section class="device-check" aria-label={t.deviceCheck} ref={host} />;
}
