// The per-request CPU cost of the access checks alone (no HTTP): finding a token by its hash among
// 1, 10 and 100 stored ones, and a rate limiter's admit + charge for one client and for a flood of
// new addresses past maxClients (LRU eviction on every request). bench/run-security.sh runs it
// after the HTTP side.
import { newToken, tokenSha256, TokenSet } from '../src/ingest/auth';
import { RateLimiter } from '../src/ingest/rate-limit';

function time(name: string, n: number, run: (i: number) => void): void {
  for (let i = 0; i < 10_000; i++) run(i);
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) run(i);
  console.log(`${name.padEnd(52)} ${(Number(process.hrtime.bigint() - started) / n).toFixed(0).padStart(7)} ns/request`);
}

for (const count of [1, 10, 100]) {
  const tokens = Array.from({ length: count }, () => newToken());
  const set = new TokenSet(tokens.map((token) => ({ sha256: tokenSha256(token) })));
  time(`token found among ${count}`, 200_000, (i) => set.find(tokens[i % count]!));
}
const limiter = new RateLimiter({ requestsPerSecond: 1e6, eventsPerSecond: 1e6, bytesPerSecond: 1e9, burstSeconds: 1, maxClients: 100_000 });
time('rate limit, one client', 1_000_000, () => {
  limiter.admit('token:web');
  limiter.charge('token:web', 1, 100);
});
time('rate limit, a new address each request (LRU full)', 1_000_000, (i) => {
  const client = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  limiter.admit(client);
  limiter.charge(client, 1, 100);
});
console.log(`load average: ${(await import('node:os')).loadavg().map((n) => n.toFixed(1)).join(' ')}`);
