import { useEffect, useRef } from 'preact/hooks';
import { strings as t } from '../strings.ts';
import type { VideoInvite } from './CallModel.ts';

interface InvitationProps {
  invite: VideoInvite;
  onAccept(): void;
  onDecline(): void;
}

/** The agent's call invitation with Accept and Decline; focus moves to it when it appears. */
export function Invitation({ invite, onAccept, onDecline }: InvitationProps) {
  const card = useRef<HTMLDivElement>(null);
  useEffect(() => {
    card.current?.focus();
  }, [invite]);

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
      </div>
    </div>
  );
}
