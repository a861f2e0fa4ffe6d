export * from './limits.ts';
export * from './errors.ts';
export * from './model.ts';
export * from './frames.ts';
export * from './http.ts';
export * from './call.ts';
export * from './callFrames.ts';
