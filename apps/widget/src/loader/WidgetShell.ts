import { loaderStrings as t } from '../strings.ts';
import type { LoaderConfig } from './config.ts';

/** Narrow screens get the panel full screen. */
const PHONE_QUERY = '(max-width: 480px)';
const SVG_NS = 'http://www.w3.org/2000/svg';
type Style = Partial<Record<string, string>>;

function css(el: HTMLElement | SVGElement, style: Style): void {
  for (const [name, value] of Object.entries(style)) el.style.setProperty(name, value ?? '');
}

/** A chat-bubble icon (decorative). */
function icon(): SVGSVGElement {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '28');
  svg.setAttribute('height', '28');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(SVG_NS, 'path');
  path.setAttribute('fill', 'currentColor');
  path.setAttribute('d', 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z');
  svg.appendChild(path);
  return svg;
}

/**
 * What the loader draws on the host page, inside a shadow root so the host's CSS cannot reach
 * it: the launcher button, an unread badge, a status note, and the slot for the chat frame. Styles are
 * set through the CSSOM (element.style), which every Content-Security-Policy allows.
 */
export class WidgetShell {
  readonly launcher: HTMLButtonElement;
  private readonly root: ShadowRoot;
  private readonly badge: HTMLSpanElement;
  private readonly description: HTMLSpanElement;
  private readonly note: HTMLDivElement;
  private readonly phone: MediaQueryList;
  private frame: HTMLIFrameElement | null = null;
  private open = false;

  constructor(private readonly config: LoaderConfig) {
    const host = document.createElement('div');
    host.setAttribute('data-parley-widget', '');
    css(host, { position: 'fixed', 'z-index': '2147483000', bottom: '0', [config.position]: '0', width: '0', height: '0' });
    this.root = host.attachShadow({ mode: 'open' });
    this.phone = matchMedia(PHONE_QUERY);

    this.launcher = document.createElement('button');
    this.launcher.type = 'button';
    this.launcher.appendChild(icon());
    css(this.launcher, {
      position: 'fixed', bottom: '20px', [config.position]: '20px', width: '56px', height: '56px',
      'border-radius': '50%', border: '0', padding: '0', margin: '0', cursor: 'pointer',
      background: config.color, color: '#fff', display: 'flex', 'align-items': 'center', 'justify-content': 'center',
      'box-shadow': '0 4px 14px rgba(0,0,0,.25)', 'outline-offset': '3px',
    });

    this.badge = document.createElement('span');
    this.badge.setAttribute('aria-hidden', 'true');
    css(this.badge, {
      position: 'absolute', top: '-4px', right: '-4px', 'min-width': '20px', height: '20px', 'border-radius': '10px',
      background: '#b00020', color: '#fff', font: 'bold 12px/20px system-ui, sans-serif', display: 'none',
    });
    this.launcher.appendChild(this.badge);

    this.description = document.createElement('span');
    this.description.id = 'parley-unread';
    css(this.description, { display: 'none' });

    this.note = document.createElement('div');
    this.note.setAttribute('role', 'status');
    css(this.note, {
      position: 'fixed', bottom: '86px', [this.config.position]: '20px', 'max-width': '260px', padding: '10px 12px',
      background: '#fff', color: '#222', border: '1px solid #999', 'border-radius': '8px',
      font: '14px/1.4 system-ui, sans-serif', display: 'none',
    });

    this.root.append(this.note, this.description, this.launcher);
    this.setOpen(false);
    this.phone.addEventListener('change', () => this.layout());
    document.body.appendChild(host);
  }

  /** Whether the panel is showing. */
  get isOpen(): boolean {
    return this.open;
  }

  /** Puts the chat frame in place (created hidden or shown by the caller). */
  attachFrame(frame: HTMLIFrameElement): void {
    this.frame?.remove();
    this.frame = frame;
    frame.title = t.frameTitle;
    frame.setAttribute('allow', 'camera; microphone; autoplay; display-capture; clipboard-write');
    css(frame, { border: '0', background: 'transparent', 'color-scheme': 'normal' });
    this.root.insertBefore(frame, this.launcher);
    this.layout();
  }

  /** Removes the frame (it failed to load). */
  detachFrame(): void {
    this.frame?.remove();
    this.frame = null;
  }

  /** Shows or hides the panel and updates the launcher's name and state. */
  setOpen(open: boolean): void {
    this.open = open;
    this.launcher.setAttribute('aria-label', open ? t.closeChat : t.openChat);
    this.launcher.setAttribute('aria-expanded', String(open));
    if (open) this.setUnread(0);
    this.layout();
  }

  /** Shows the unread count on the launcher (0 hides it). */
  setUnread(count: number): void {
    this.badge.textContent = count > 0 ? String(Math.min(count, 99)) : '';
    css(this.badge, { display: count > 0 ? 'block' : 'none' });
    this.description.textContent = count > 0 ? t.unread(count) : '';
    if (count > 0) this.launcher.setAttribute('aria-describedby', this.description.id);
    else this.launcher.removeAttribute('aria-describedby');
  }

  /** Shows a short note above the launcher (null hides it). */
  showNote(text: string | null): void {
    this.note.textContent = text ?? '';
    css(this.note, { display: text ? 'block' : 'none' });
  }

  private layout(): void {
    const phone = this.phone.matches;
    const side = this.config.position;
    css(this.launcher, { display: this.open && phone ? 'none' : 'flex' });
    if (!this.frame) return;
    if (!this.open) {
      css(this.frame, { display: 'none' });
      return;
    }
    css(
      this.frame,
      phone
        ? { display: 'block', position: 'fixed', top: '0', left: '0', right: '0', bottom: '0', width: '100%', height: '100%', 'border-radius': '0', 'box-shadow': 'none' }
        : {
            display: 'block', position: 'fixed', top: 'auto', bottom: '88px', left: side === 'left' ? '20px' : 'auto',
            right: side === 'right' ? '20px' : 'auto', width: '380px', height: 'min(640px, calc(100vh - 108px))',
            'border-radius': '12px', 'box-shadow': '0 8px 30px rgba(0,0,0,.3)',
          },
    );
  }
}
