import type { ComponentType } from 'preact';
import type { CallModel } from './CallModel.ts';
import { Store } from './Store.ts';

/** Props of the lazily loaded call controls. */
export interface CallControlsProps {
  calls: CallModel;
}

/** The call controls, once their chunk has loaded (null before). */
export const callUi = new Store<{ Controls: ComponentType<CallControlsProps> | null }>({ Controls: null });

let loading: Promise<void> | null = null;

/** Loads the call controls (video layout, Mute, Camera, End call) the first time a call starts. */
export function loadCallUi(): Promise<void> {
  loading ??= import('../call/CallControls.tsx')
    .then((module) => callUi.set({ Controls: module.CallControls }))
    .catch((err) => {
      loading = null;
      console.error('Parley widget: the call controls could not load', err);
    });
  return loading;
}
