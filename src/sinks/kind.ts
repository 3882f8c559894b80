// What a sink kind is, seen from the configuration: everything about one kind of destination lives
// in its folder (`sinks/<kind>/config.ts`: schema, defaults, key rules, checks, and how to make the
// sink; `sink.ts`; `classify.ts`), and kinds.ts lists the kinds, one line each. The config loader,
// the registry, `config show` and the doc tests read the kind from here and from nowhere else.
import type { BatchConfig, RetryConfig } from '../config/defaults';
import type { Logger } from '../ops/log';
import type { Sink } from './sink';

/** The settings every sink instance has, whatever its kind (the dispatcher's and the router's). */
export interface CommonSinkConfig {
  /** The kind of destination (`sinks/<kind>/`); an instance named after a kind may leave it out. */
  kind: string;
  enabled: boolean;
  /** Topic patterns (`*` wildcard) this sink takes, unless `routes` name it. */
  topics: string[];
  /** The topic the sink is given instead of the event's: `{topic}` stands for the event's ('' = unchanged). */
  rename: string;
  /** Only events that pass this reach the sink (the others are skipped, not dead-lettered). */
  filter: SinkFilterConfig;
  batch: BatchConfig;
  retry: RetryConfig;
}

export interface SinkFilterConfig {
  /** Key patterns (`*` wildcard); when any is given, an event without a matching key is skipped. */
  keys: string[];
  /** Header name → value pattern (`*` wildcard); every one must match. */
  headers: Record<string, string>;
}

/** Adds a problem about `key` (a path relative to the instance, such as `brokers`; several: `tls.cert, tls.key`) to the list. */
export type Complain = (key: string, problem: string) => void;

/** The full name of a key of this instance (`brokers` → `sinks.analytics.brokers`), for messages. */
export type KeyName = (key: string) => string;

export interface SinkKind<C extends CommonSinkConfig = CommonSinkConfig> {
  readonly kind: string;
  /** One instance's defaults, common settings included. */
  defaults(): C;
  /**
   * The setting whose value turns an instance on when given (Kafka's `brokers`, a syslog `endpoint`),
   * unless `enabled: false` says otherwise; none for a kind that is on by default (file).
   */
  readonly switch?: keyof C & string;
  /** Keys (relative to the instance) whose value must be one of a fixed set. */
  readonly enums?: Readonly<Record<string, readonly string[]>>;
  /** Numeric keys that also take a size with a unit. */
  readonly sizeKeys?: readonly string[];
  /** Keys whose value is a free-form string map. */
  readonly mapKeys?: readonly string[];
  /** Keys that hold secrets (never logged, redacted by `config show`). */
  readonly secretKeys?: readonly string[];
  /** Checks that span several keys of an enabled instance (an endpoint's form, keys that go together). */
  check(config: C, complain: Complain, at: KeyName): void;
  /** Makes relative file names absolute (output directories under the data dir, certificates from the working directory). */
  resolve?(config: C, dataDir: string): void;
  /** Makes the sink (its library loaded only now, on the sink's own delivery thread). */
  create(name: string, config: C, logger: Logger): Promise<Sink>;
}

export const MiB = 1024 * 1024;

/** Every kind's retry defaults unless it says otherwise. */
export const DEFAULT_RETRY: RetryConfig = { initialMs: 100, maxMs: 30_000, factor: 2, jitter: 0.2 };

/** The delivery settings and key rules shared by every kind. */
export const COMMON_SIZE_KEYS = ['batch.maxBytes'] as const;
export const COMMON_MAP_KEYS = ['filter.headers'] as const;

export function commonDefaults(kind: string, enabled: boolean, batch: BatchConfig, retry: RetryConfig): CommonSinkConfig {
  return {
    kind,
    enabled,
    topics: ['*'],
    rename: '',
    // No prototype: a header named `constructor` must not find an inherited pattern.
    filter: { keys: [], headers: Object.create(null) as Record<string, string> },
    batch: { ...batch },
    retry: { ...retry },
  };
}
