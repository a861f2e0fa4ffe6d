/*
 * The chat app inside the widget's iframe (served from the Parley origin at /widget/frame.html).
 * It talks to the server through @parley/sdk and to the loader on the host page through HostLink.
 */
import { render } from 'preact';
import { readFrameParams } from '../channel.ts';
import { strings as t } from '../strings.ts';
import { App } from './App.tsx';
import { CallModel } from './CallModel.ts';
import { ChatModel } from './ChatModel.ts';
import { loadCallUi } from './callUi.ts';
import { HostLink } from './HostLink.ts';
import './frame.css';

const root = document.getElementById('app')!;
const embedded = window.parent !== window;
const ancestor = embedded ? (location.ancestorOrigins?.[0] ?? null) : null;
const params = readFrameParams(location.search, ancestor) ?? (embedded ? null : readFrameParams(`host=${location.origin}&open=1`, null));

if (!params) {
  root.textContent = t.failed;
} else {
  let open = params.open || !embedded;
  let focusKey = open ? 1 : 0;
  let inviteFocusKey = 0;
  const host = new HostLink(params.host, embedded ? window.parent : null, (message) => {
    if (message.type !== 'visibility') return;
    const wasOpen = open;
    open = message.open;
    chat.setVisible(open);
    if (open && !wasOpen) {
      void chat.connect();
      if (calls.store.state.invite) inviteFocusKey += 1;
      else focusKey += 1;
      draw();
    }
  });
  const calls = new CallModel({
    onInvite: (invite) => {
      host.post({ type: 'open', focus: true });
      host.post({ type: 'alert', title: t.invitationNotice(invite.from.name), body: t.invitationTitle(invite.from.name, invite.useVideo) });
      void loadCallUi();
    },
    onCallStarting: () => void loadCallUi(),
  });
  const chat = new ChatModel(location.origin, params.page || location.href, {
    onContact: (contact) => calls.attach(contact),
    onConversationActive: (active) => host.post({ type: 'conversation', active }),
    onUnread: (count) => host.post({ type: 'unread', count }),
  });
  const draw = (): void =>
    render(
      <App chat={chat} calls={calls} params={params} focusKey={focusKey} inviteFocusKey={inviteFocusKey} onMinimize={() => host.post({ type: 'close' })} />,
      root,
    );
  chat.setVisible(open);
  draw();
  host.post({ type: 'ready' });
  void chat.connect();
}
