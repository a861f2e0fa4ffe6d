export { startServer, createAgent, type ParleyServer } from './app.ts';
export { loadConfig, ConfigError, type Config } from './config.ts';
export type { Store } from './store/Store.ts';
