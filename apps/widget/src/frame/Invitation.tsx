import { useEffect, useRef } from 'preact/hooks';
import { strings as t } from '../strings.ts';
import type { VideoInvite } from './CallModel.ts';

interface InvitationProps {
  invite: VideoInvite;
  /**
   * Bumped when the panel is shown with the invitation in it. An invitation can arrive while the frame is
   * still hidden, where focus does not take: it is moved again once the panel is visible.
   */
  focusKey: number;
  /** The pre-call check is open (its toggle is in the card). */
  checking: boolean;
  onCheck(): void;
  onAccept(): void;
  onDecline(): void;
}

/** The agent's call invitation with Accept and Decline; focus moves to it when it appears. */
export function Invitation({ invite, focusKey, checking, onCheck, onAccept, onDecline }: InvitationProps) {
  const card = useRef<HTMLDivElement>(null);
  useEffect(() => {
    card.current?.focus();
  }, [invite, focusKey]);

  return (
    <div
      ref={card}
      class="invitation"
      role="alertdialog"
      aria-labelledby="parley-invite-title"
      aria-describedby="parley-invite-hint"
      tabIndex={-1}
    >
      <h2 id="parley-invite-title">{t.invitationTitle(invite.from.name, invite.useVideo)}</h2>
      <p id="parley-invite-hint">{t.invitationHint}</p>
      <div class="actions">
        <button type="button" class="primary" onClick={onAccept}>
          {t.accept}
        </button>
        <button type="button" onClick={onDecline}>
          {t.decline}
        </button>
        <button type="button" aria-expanded={checking} onClick={onCheck}>
          {t.checkDevices}
        </button>
      </div>
    </div>
  );
}
