// What the telemetry adds on the hot paths (src/ops/catalogue.ts's histograms and counters): per
// accepted request, AcceptedCounter.note (a performance.now(), two histogram observations, two
// additions) and the performance.now() taken when its headers are read; per accepted send on a
// delivery thread, two performance.now() and two observations. Prints nanoseconds per call, median
// of 7 rounds of 2 000 000. Run: npx esbuild bench/micro/telemetry-cost.mts --bundle --platform=node
// --format=esm --outfile=build/bench/telemetry-cost.mjs && node build/bench/telemetry-cost.mjs
import { AcceptedCounter } from '../../src/ingest/accepted';
import { COUNT_BUCKETS, Histogram, SECONDS_BUCKETS } from '../../src/ops/histogram';

const N = 2_000_000;
const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function measure(name: string, body: (i: number) => void): void {
  const rounds: number[] = [];
  for (let round = 0; round < 7; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) body(i);
    rounds.push(Number(process.hrtime.bigint() - start) / N);
  }
  console.log(JSON.stringify({ name, nsPerCall: Math.round(median(rounds) * 10) / 10 }));
}

const accepted = new AcceptedCounter();
const received = performance.now();
measure('per request: AcceptedCounter.note', (i) => accepted.note(received, (i & 127) + 1));
measure('per request: performance.now() at the headers', () => void performance.now());
const batches = new Histogram(COUNT_BUCKETS);
const sends = new Histogram(SECONDS_BUCKETS);
measure('per send: two performance.now() and two observations', (i) => {
  const started = performance.now();
  sends.observe((performance.now() - started) / 1000);
  batches.observe((i & 2047) + 1);
});
measure('baseline: an empty call', () => undefined);
