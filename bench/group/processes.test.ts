import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chromiumBelow, cpuBetween, descendantsOf, isChromium, parseStat, type ProcessInfo } from './processes.ts';

test('a stat line gives the parent pid and user + system time, even with spaces and parentheses in the name', () => {
  // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
  const line = '4242 (Chrome_ChildIOT (x)) S 4100 4100 4100 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 12 0 1000 0 0';
  assert.deepEqual(parseStat(line), { ppid: 4100, cpuSeconds: 3 });
  assert.throws(() => parseStat('garbage'), /unreadable stat line/);
});

const proc = (pid: number, ppid: number, cpuSeconds: number, program = '/usr/lib/chromium/chromium'): ProcessInfo => ({ pid, ppid, cpuSeconds, argv: [program, '--type=renderer'] });

test('descendants are found at any depth, and only below the root', () => {
  const all = [proc(10, 1, 0, '/usr/bin/node'), proc(11, 10, 0), proc(12, 11, 0), proc(13, 12, 0), proc(20, 1, 0), proc(21, 20, 0)];
  assert.deepEqual(descendantsOf(10, all).map((p) => p.pid).sort(), [11, 12, 13]);
  assert.deepEqual(descendantsOf(13, all), []);
});

test('only programs named chromium are Chromium (the /usr/bin/chromium wrapper execs /usr/lib/chromium/chromium)', () => {
  assert.ok(isChromium(proc(1, 0, 0, '/usr/lib/chromium/chromium')));
  assert.ok(isChromium(proc(1, 0, 0, 'chromium')));
  assert.ok(!isChromium(proc(1, 0, 0, '/usr/bin/node')));
  assert.ok(!isChromium(proc(1, 0, 0, '/usr/lib/chromium/chromium_crashpad_handler')));
  // A renderer's command line, rewritten by Chromium into one string with spaces.
  assert.ok(isChromium({ pid: 1, ppid: 0, cpuSeconds: 0, argv: ['/usr/lib/chromium/chromium --type=renderer --lang=en-US'] }));
});

test("Chromium below a root: its browsers and everything under them, not other people's, not other programs", () => {
  const all = [
    proc(10, 1, 0, '/usr/bin/node'),
    proc(11, 10, 0, '/usr/bin/esbuild'),
    proc(12, 10, 0),
    proc(13, 12, 0),
    { pid: 14, ppid: 13, cpuSeconds: 0, argv: [] },
    proc(30, 1, 0, '/usr/bin/node'),
    proc(31, 30, 0),
  ];
  assert.deepEqual(chromiumBelow(10, all).map((p) => p.pid).sort(), [12, 13, 14]);
});

test('CPU between two readings: each process its own difference, a new one from zero', () => {
  const start = [proc(1, 0, 10), proc(2, 0, 5), proc(3, 0, 7)];
  const end = [proc(1, 0, 12.5), proc(2, 0, 5), proc(4, 0, 1)]; // 3 ended, 4 started
  assert.equal(cpuBetween(start, end), 3.5);
});
