// What crosses between the ingest thread and a sink's delivery thread (README.md beside this file
// says why these and nothing else). One MessagePort per sink carries both directions, in order.
import type { Config } from '../config/defaults';
import { SparknginError } from '../errors';
import type { DispatcherStats } from '../sinks/dispatcher';
import type { RecordPosition } from '../sinks/sink';
import type { LossReason } from '../spool/damage';
import type { Retirement, Segment, SpoolEvent } from '../spool/spool';

export const DELIVERY_ROLE = 'sparkngin.delivery';

/** The name under which the single executable carries its own script, for its delivery threads (packaging/steps/binary.ts). */
export const BUNDLE_ASSET = 'sparkngin.cjs';

/** The V8 code cache of that script, made after a warm start (packaging/sea/): on the build machine's own target only. */
export const CODE_CACHE_ASSET = 'sparkngin.code-cache';

/**
 * How the single executable runs its script: its main script (packaging/steps/binary.ts) and each
 * delivery thread run this. It reads the script from the executable, wraps it as a CommonJS module
 * and compiles it with the V8 code cache the build made after a warm start
 * (packaging/sea/code-cache.cjs, which wraps it alike: V8 checks a cache against the source). Node's
 * own `useCodeCache` holds only what V8 compiles before the script runs, its outer function; every
 * function a start then calls (config, YAML, HTTP server, spool) was compiled at each start
 * (bench/RESULTS.md, start-up). A cache V8 refuses (another target, other flags) costs only that
 * compilation: the script runs all the same. Plain JavaScript that needs only Node's own modules.
 */
export const SEA_WRAP = ['(function (exports, require, module, __filename, __dirname) {', '\n})'] as const;
export function seaRunner(): string {
  return `'use strict';
const { getAsset } = require('node:sea');
let cachedData;
try { cachedData = Buffer.from(getAsset(${JSON.stringify(CODE_CACHE_ASSET)})); } catch { /* none for this target */ }
const source = ${JSON.stringify(SEA_WRAP[0])} + getAsset(${JSON.stringify(BUNDLE_ASSET)}, 'utf8') + ${JSON.stringify(SEA_WRAP[1])};
new (require('node:vm').Script)(source, { filename: ${JSON.stringify(BUNDLE_ASSET)}, cachedData }).runInThisContext()(exports, require, module, __filename, __dirname);
`;
}

export interface SpoolSnapshot {
  segments: Array<Omit<Segment, 'gone'>>;
  nextSeq: number;
  closed: boolean;
}

/**
 * The delivery thread's `workerData`: enough to load and start its sink while the ingest thread is
 * still opening the spool (start-up overlaps); the reader's part comes with `open`.
 */
export interface DeliveryInit {
  role: typeof DELIVERY_ROLE;
  sink: string;
  config: Config;
  cursorsDir: string;
  deadLetterDir: string;
}

/** An error as it can cross a thread: what the log and the start failure need of it. */
export interface ErrorInfo {
  /** A SparknginError (its message says what to do), rebuilt as one on the other side. */
  ours: boolean;
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

export type DeliveryStats = DispatcherStats & {
  skippedRecords: number;
  cursorSaveFailures: number;
  /** Bytes of the sink's dead-letter files, and the dead letters their limits dropped (sinks/dead-letter.ts). */
  deadLetterBytes: number;
  deadLetterDroppedRecords: number;
};

/** Ingest thread → delivery thread. */
export type ToDelivery =
  /** The spool is open: where the sink's reader resumes (its cursor as the spool judged it, or the delivered point before a restart) and the segment list then. */
  | { type: 'open'; startSeq: number; spool: SpoolSnapshot }
  | { type: 'spool'; event: SpoolEvent }
  | { type: 'retired'; id: number; done: boolean }
  | { type: 'skipTo'; seq: number }
  /** Report record positions (`positioned`) from now on, or stop reporting them. */
  | { type: 'positions'; report: boolean }
  | { type: 'stop'; deadline: number };

/** Delivery thread → ingest thread. */
export type ToIngest =
  | { type: 'ready'; stats: DeliveryStats }
  | { type: 'startFailed'; error: ErrorInfo }
  /** A batch was delivered; `stats` only when they are due (worker.ts STATS_EVERY_MS): a `stats` message follows otherwise. */
  | { type: 'progress'; nextSeq: number; stats?: DeliveryStats }
  | { type: 'stats'; stats: DeliveryStats }
  | { type: 'deadLettered'; seq: number; cause: { code?: string; message: string } }
  /** Where the records of a delivered batch went (sink.ts SentPositions), sent before its `progress`. */
  | { type: 'positioned'; seqs: number[]; positions: Array<RecordPosition | undefined> }
  | { type: 'log'; line: string }
  | { type: 'loss'; range: { fromSeq: number; toSeq: number; reason: LossReason; file: string; offset?: number; sink?: string } }
  | { type: 'stretch'; file: string; from: number; to: number }
  | { type: 'retire'; id: number; firstSeq: number; how: Retirement; cause: { message: string; code?: string } }
  | { type: 'stopped'; stats?: DeliveryStats };

export function errorInfo(error: unknown): ErrorInfo {
  if (!(error instanceof Error)) return { ours: false, name: 'Error', message: String(error) };
  const { code } = error as { code?: unknown };
  return { ours: error instanceof SparknginError, name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}), ...(error.stack === undefined ? {} : { stack: error.stack }) };
}

export function errorFrom(info: ErrorInfo): Error {
  const error = info.ours ? new SparknginError(info.code ?? 'UNKNOWN', info.message) : Object.assign(new Error(info.message), info.code === undefined ? {} : { code: info.code });
  error.name = info.name;
  if (info.stack !== undefined) error.stack = info.stack;
  return error;
}
