/*
 * widget.js — the loader a website installs with one script tag:
 *   <script src="https://parley.example/widget.js" async data-color="#1f5fbf" data-calls="video,voice"></script>
 * It draws the launcher and nothing else until it is needed. The chat app (an iframe on the Parley
 * origin) is created when the visitor opens the chat — or, hidden, on every page load while the
 * visitor has an open conversation, so the connection is live and an agent's call invitation can open
 * the panel by itself. A first-time visitor who never clicks loads only this file.
 */
import { CHANNEL_TAG, frameQuery, readFrameMessage, type FrameToHost, type HostToFrame } from '../channel.ts';
import { loaderStrings as t } from '../strings.ts';
import { askNotificationPermission, chime, notify } from './attention.ts';
import { findOwnScript, readConfig, type LoaderConfig } from './config.ts';
import { WidgetShell } from './WidgetShell.ts';

/** Per site (localStorage): the visitor has an open conversation. */
const ACTIVE_KEY = 'parley-widget:conversation';
/** Per tab (sessionStorage): the panel was open, so it stays open on the next page. */
const OPEN_KEY = 'parley-widget:open';
/** How long the frame may take to say it runs before the site is reported as not allowed. */
const READY_TIMEOUT_MS = 12_000;

function remember(storage: () => Storage, key: string, value: boolean): void {
  try {
    if (value) storage().setItem(key, '1');
    else storage().removeItem(key);
  } catch {
    // storage blocked: the widget still works on this page
  }
}

function recall(storage: () => Storage, key: string): boolean {
  try {
    return storage().getItem(key) === '1';
  } catch {
    return false;
  }
}

/** Runs the widget on this page. */
class WidgetLoader {
  private readonly shell: WidgetShell;
  private frame: HTMLIFrameElement | null = null;
  private ready = false;
  private readyTimer: ReturnType<typeof setTimeout> | undefined;
  private asked = false;

  constructor(private readonly config: LoaderConfig) {
    this.shell = new WidgetShell(config);
    this.shell.launcher.addEventListener('click', () => this.toggle());
    window.addEventListener('message', (event) => this.receive(event));
    const wasOpen = recall(() => sessionStorage, OPEN_KEY);
    if (wasOpen || recall(() => localStorage, ACTIVE_KEY)) this.createFrame(wasOpen);
  }

  private toggle(): void {
    if (this.config.askNotifications && !this.asked) {
      this.asked = true;
      askNotificationPermission();
    }
    if (this.shell.isOpen) this.hide(true);
    else this.show(true);
  }

  private show(focus: boolean): void {
    this.shell.showNote(null);
    remember(() => sessionStorage, OPEN_KEY, true);
    if (!this.frame) this.createFrame(true);
    this.shell.setOpen(true);
    this.post({ tag: CHANNEL_TAG, type: 'visibility', open: true });
    if (focus && this.ready) this.frame?.focus();
  }

  private hide(focusLauncher: boolean): void {
    remember(() => sessionStorage, OPEN_KEY, false);
    this.shell.setOpen(false);
    this.post({ tag: CHANNEL_TAG, type: 'visibility', open: false });
    if (focusLauncher) this.shell.launcher.focus();
  }

  private createFrame(open: boolean): void {
    const frame = document.createElement('iframe');
    frame.src = `${this.config.parleyOrigin}/widget/frame.html?${frameQuery({
      host: location.origin,
      page: location.href,
      open,
      greeting: this.config.greeting,
      color: this.config.color,
      calls: this.config.calls,
    })}`;
    this.frame = frame;
    this.ready = false;
    this.shell.attachFrame(frame);
    this.shell.setOpen(open);
    clearTimeout(this.readyTimer);
    this.readyTimer = setTimeout(() => this.unavailable(), READY_TIMEOUT_MS);
  }

  /** The frame never ran: most likely this site is not in the server's ALLOWED_ORIGINS. */
  private unavailable(): void {
    if (this.ready) return;
    console.warn(
      `Parley: the chat frame from ${this.config.parleyOrigin} did not load on ${location.origin}. ` +
        `Add ${location.origin} to ALLOWED_ORIGINS on the Parley server to run the widget on this site.`,
    );
    this.shell.detachFrame();
    this.frame = null;
    remember(() => sessionStorage, OPEN_KEY, false);
    this.shell.setOpen(false);
    this.shell.showNote(t.unavailable);
  }

  private post(message: HostToFrame): void {
    if (this.ready) this.frame?.contentWindow?.postMessage(message, this.config.parleyOrigin);
  }

  private receive(event: MessageEvent): void {
    if (event.origin !== this.config.parleyOrigin || !this.frame || event.source !== this.frame.contentWindow) return;
    const message = readFrameMessage(event.data);
    if (message) this.handle(message);
  }

  private handle(message: FrameToHost): void {
    switch (message.type) {
      case 'ready':
        this.ready = true;
        clearTimeout(this.readyTimer);
        this.post({ tag: CHANNEL_TAG, type: 'visibility', open: this.shell.isOpen });
        if (this.shell.isOpen) this.frame?.focus();
        return;
      case 'open':
        if (!this.shell.isOpen) this.show(message.focus);
        else if (message.focus) this.frame?.focus();
        return;
      case 'close':
        this.hide(true);
        return;
      case 'conversation':
        remember(() => localStorage, ACTIVE_KEY, message.active);
        return;
      case 'unread':
        this.shell.setUnread(this.shell.isOpen ? 0 : message.count);
        return;
      case 'alert':
        if (document.visibilityState !== 'hidden') return;
        chime();
        notify(message.title, message.body, () => this.show(true));
        return;
      default: {
        const never: never = message;
        return never;
      }
    }
  }
}

// Read at once: document.currentScript is only set while this script runs.
const ownScript = findOwnScript(document);

function start(): void {
  if (!ownScript) {
    console.warn('Parley: widget.js could not find its own script tag; the widget is not shown.');
    return;
  }
  try {
    new WidgetLoader(readConfig(ownScript));
  } catch (err) {
    console.warn('Parley: the widget could not start', err);
  }
}

if (document.body) start();
else document.addEventListener('DOMContentLoaded', start, { once: true });
