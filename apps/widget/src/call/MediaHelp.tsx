import { strings as t } from '../strings.ts';

interface MediaHelpProps {
  device: 'audio' | 'video' | 'both';
  missing: boolean;
  /** The call goes on (voice only is possible when just the camera is refused). */
  inCall: boolean;
  onVoiceOnly(): void;
  onChatOnly(): void;
}

/** Plain instructions when the camera or microphone is refused, and the ways to go on. */
export function MediaHelp({ device, missing, inCall, onVoiceOnly, onChatOnly }: MediaHelpProps) {
  return (
    <div class="media-help" role="alert">
      <h2>{missing ? t.mediaMissing : t.mediaDeniedTitle(device)}</h2>
      {!missing && (
        <ol>
          {t.mediaDeniedSteps.map((step) => (
            <li key={step}>{step}</li>
          ))}
        </ol>
      )}
      <div class="actions">
        {device === 'video' && inCall && (
          <button type="button" class="primary" onClick={onVoiceOnly}>
            {t.continueVoice}
          </button>
        )}
        <button type="button" onClick={onChatOnly}>
          {t.continueChat}
        </button>
      </div>
    </div>
  );
}
