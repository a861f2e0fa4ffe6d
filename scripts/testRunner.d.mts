/** How one test file ran (see testRunner.mjs). */
export interface FileResult {
  file: string;
  /** PARLEY_TEST_RUN of its process (`<runner pid>-<file number>`), inherited by all it started. */
  mark: string;
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

/** One run of a file in a suite: named by `label` (default: the file), with `env` added to its environment. */
export interface SuiteEntry {
  file: string;
  label?: string;
  env?: Record<string, string>;
}

export function runSuite(name: string, suite: Suite, files: ReadonlyArray<string | SuiteEntry>): Promise<Array<FileResult & { label: string }>>;
