import { useEffect, useReducer } from 'preact/hooks';
import type { WorkspaceModel } from '../model/WorkspaceModel.ts';
import { strings } from '../strings.ts';
import { SignIn } from './SignIn.tsx';
import { Workspace } from './Workspace.tsx';

/** The page: sign-in or the workspace; keeps the tab title and the live region up to date. */
export function App({ model }: { model: WorkspaceModel }) {
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  useEffect(() => model.subscribe(() => redraw(undefined)), [model]);
  useEffect(() => {
    const shown = () => {
      if (document.visibilityState === 'visible') model.pageShown();
    };
    document.addEventListener('visibilitychange', shown);
    window.addEventListener('focus', shown);
    return () => {
      document.removeEventListener('visibilitychange', shown);
      window.removeEventListener('focus', shown);
    };
  }, [model]);

  const count = model.phase.kind === 'ready' ? model.attentionCount : 0;
  useEffect(() => {
    document.title = strings.title(count);
  }, [count]);

  return (
    <>
      {model.phase.kind === 'ready' && model.agent ? (
        <Workspace model={model} agent={model.agent} />
      ) : (
        <SignIn model={model} />
      )}
      <div class="visually-hidden" role="status" aria-live="polite" aria-atomic="true" data-n={model.announcement.n}>
        {model.announcement.text}
      </div>
    </>
  );
}
