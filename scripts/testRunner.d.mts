/** How one test file ran (see testRunner.mjs). */
export interface FileResult {
  file: string;
  /** Exited 0 within its limit. */
  ok: boolean;
  /** Killed for running past `fileTimeoutMs`. */
  overran: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Everything it printed, stdout and stderr. */
  out: string;
  ms: number;
  passed: number;
  failed: number;
}

export interface FileLimits {
  /** Default timeout of each test and hook. */
  testTimeoutMs: number;
  /** The file is killed, with everything it started, past this. */
  fileTimeoutMs: number;
  env?: Record<string, string>;
  /** Print its output as it comes. */
  live?: boolean;
}

export function runFile(file: string, limits: FileLimits): Promise<FileResult>;

export interface Suite extends FileLimits {
  concurrency: number;
}

export function runSuite(name: string, suite: Suite, files: string[]): Promise<FileResult[]>;
