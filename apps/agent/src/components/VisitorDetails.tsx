import { describeBrowser } from '../format.ts';
import type { ConversationState } from '../model/ConversationState.ts';
import type { WorkspaceModel } from '../model/WorkspaceModel.ts';
import { strings } from '../strings.ts';
import { CallControls } from './CallControls.tsx';

/** Who the visitor is and where (name, page, browser), and the buttons that start a call. */
export function VisitorDetails({ model, state }: { model: WorkspaceModel; state: ConversationState }) {
  const s = strings.details;
  const info = state.contact.visitorInfo;
  return (
    <>
      <section class="panel" aria-labelledby="details-heading">
        <h2 id="details-heading">{s.heading}</h2>
        <dl class="facts">
          <dt>{s.name}</dt>
          <dd>{state.visitorName}</dd>
          <dt>{s.page}</dt>
          <dd class="break">{info.page ?? s.unknown}</dd>
          <dt>{s.browser}</dt>
          <dd>{describeBrowser(info.userAgent) ?? s.unknown}</dd>
        </dl>
      </section>
      <CallControls model={model} state={state} />
    </>
  );
}
