/*
 * Entry of the baseline pages' bundle: the media probe (the same first-frame detection as in the Parley
 * pages) and the bare WebRTC call.
 */
import { installProbe } from '../../e2e/support/page/probe.ts';
import './baselinePage.ts';

installProbe();
