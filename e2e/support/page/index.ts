/*
 * Entry of the in-page bundle that e2e/support/media.ts injects into every test page before its own scripts:
 * the media probe (window.parleyProbe) and the call driver (window.parleyE2E).
 */
import { installDriver } from './driver.ts';
import { installProbe } from './probe.ts';

installProbe();
installDriver();
