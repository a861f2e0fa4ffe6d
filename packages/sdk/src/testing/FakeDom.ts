/* A tiny DOM for the SDK's Node tests: enough for DomCallView (never imported by the SDK itself). */
import type { DocumentLike, ElementLike, VideoElementLike } from '../call/DomCallView.ts';

export class FakeElement implements VideoElementLike {
  readonly attributes = new Map<string, string>();
  readonly children: FakeElement[] = [];
  parent: FakeElement | null = null;
  textContent: string | null = '';
  srcObject: unknown = null;
  muted = false;
  autoplay = false;
  playsInline = false;
  plays = 0;
  /** The audio output chosen with `setSinkId` ('' is the default). */
  sinkId = '';
  private readonly styles = new Map<string, string>();
  readonly style = {
    setProperty: (name: string, value: string): void => void this.styles.set(name, value),
    removeProperty: (name: string): string => {
      const old = this.styles.get(name) ?? '';
      this.styles.delete(name);
      return old;
    },
  };

  constructor(readonly tagName: string) {}

  setAttribute(name: string, value: string): void {
    this.attributes.set(name, value);
  }

  removeAttribute(name: string): void {
    this.attributes.delete(name);
  }

  getAttribute(name: string): string | null {
    return this.attributes.get(name) ?? null;
  }

  hasAttribute(name: string): boolean {
    return this.attributes.has(name);
  }

  styleOf(name: string): string | undefined {
    return this.styles.get(name);
  }

  /** Shown unless `display: none`. */
  get visible(): boolean {
    return this.styles.get('display') !== 'none';
  }

  appendChild(child: ElementLike): unknown {
    const element = child as FakeElement;
    element.remove();
    element.parent = this;
    this.children.push(element);
    return element;
  }

  remove(): void {
    if (!this.parent) return;
    const siblings = this.parent.children;
    const index = siblings.indexOf(this);
    if (index >= 0) siblings.splice(index, 1);
    this.parent = null;
  }

  setSinkId(deviceId: string): Promise<void> {
    this.sinkId = deviceId;
    return Promise.resolve();
  }

  play(): Promise<void> {
    this.plays++;
    return Promise.resolve();
  }

  /** Every descendant, depth first. */
  descendants(): FakeElement[] {
    return this.children.flatMap((c) => [c, ...c.descendants()]);
  }

  /** Descendants matching a tag (or `*`) and attributes (`value` undefined: present). */
  query(tag: string, attributes: Record<string, string | undefined> = {}): FakeElement[] {
    return this.descendants().filter(
      (e) =>
        (tag === '*' || e.tagName === tag) &&
        Object.entries(attributes).every(([k, v]) => (v === undefined ? e.hasAttribute(k) : e.getAttribute(k) === v)),
    );
  }
}

export class FakeDocument implements DocumentLike {
  readonly body = new FakeElement('body');

  getElementById(id: string): FakeElement | null {
    return this.body.descendants().find((e) => e.getAttribute('id') === id) ?? null;
  }

  createElement(tag: 'div'): FakeElement;
  createElement(tag: 'video'): FakeElement;
  createElement(tag: string): FakeElement {
    return new FakeElement(tag);
  }

  /** Adds `<div id=…>` to the body and returns it. */
  addDiv(id: string): FakeElement {
    const div = new FakeElement('div');
    div.setAttribute('id', id);
    this.body.appendChild(div);
    return div;
  }
}
