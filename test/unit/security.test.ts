// The pure logic of ingest security, with a pinned clock where time matters: token buckets and their
// LRU bound, IPv6 /64 keys, token hashing and matching, the configuration of credentials (record
// lists from YAML and from env JSON, the settings that only work together), redaction of secrets
// and the removal of absolute paths. What a client sees is in test/integration/ingest-*.test.ts.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/defaults';
import { type ConfigSources, envName, loadConfig } from '../../src/config/load';
import { ConfigError, RequestError } from '../../src/errors';
import { authRequired, newToken, TOKEN_PREFIX, tokenSha256, TokenSet } from '../../src/ingest/auth';
import { addressKey, RateLimiter } from '../../src/ingest/rate-limit';
import { redactConfig, withoutPaths } from '../../src/ops/redact';
import { kafkaSecurity } from '../../src/sinks/kafka/security';
import { tempDir } from './spool-helpers';

const limits = { requestsPerSecond: 0, eventsPerSecond: 0, bytesPerSecond: 0, burstSeconds: 1, maxClients: 100 };

function refusal(run: () => void): RequestError | undefined {
  try {
    run();
  } catch (error) {
    return error as RequestError;
  }
  return undefined;
}

describe('RateLimiter', () => {
  it('lets a burst through, then one request per refill, answering 429 with the seconds to wait', () => {
    let now = 0;
    const limiter = new RateLimiter({ ...limits, requestsPerSecond: 2, burstSeconds: 3 }, () => now);
    for (let i = 0; i < 6; i++) limiter.admit('a');
    const refused = refusal(() => limiter.admit('a'));
    expect(refused).toMatchObject({ status: 429, code: 'RATE_LIMITED', headers: { 'retry-after': '1' } });
    now += 500; // one token back
    limiter.admit('a');
    expect(refusal(() => limiter.admit('a'))?.status).toBe(429);
    now += 60_000; // never more than the burst
    for (let i = 0; i < 6; i++) limiter.admit('a');
    expect(refusal(() => limiter.admit('a'))?.status).toBe(429);
  });

  it('charges events and bytes after the fact and refuses while the client owes, for as long as it owes', () => {
    let now = 0;
    const limiter = new RateLimiter({ ...limits, eventsPerSecond: 100, bytesPerSecond: 1000 }, () => now);
    limiter.admit('a');
    limiter.charge('a', 1100, 10); // 1000 events owed: 10 s
    expect(refusal(() => limiter.admit('a'))?.headers['retry-after']).toBe('10');
    now += 9_000;
    expect(refusal(() => limiter.admit('a'))?.headers['retry-after']).toBe('1');
    now += 1_000;
    limiter.admit('a');
    limiter.charge('a', 1, 6000); // 5000 bytes owed at 1000/s
    expect(refusal(() => limiter.admit('a'))?.headers['retry-after']).toBe('5');
    // Other clients are not affected.
    limiter.admit('b');
  });

  it('remembers at most maxClients, forgetting the least recently seen', () => {
    const now = 0;
    const limiter = new RateLimiter({ ...limits, requestsPerSecond: 1, maxClients: 3 }, () => now);
    for (const client of ['a', 'b', 'c']) limiter.admit(client);
    expect(refusal(() => limiter.admit('a'))?.status).toBe(429); // a is now the most recent
    for (let i = 0; i < 10_000; i++) limiter.admit(`flood-${i}`);
    expect(limiter.size).toBe(3);
    // a was pushed out by the flood: it comes back with a full bucket (errs on the client's side).
    limiter.admit('a');
  });

  it('costs nothing and remembers no one when every limit is off', () => {
    const limiter = new RateLimiter(limits);
    for (let i = 0; i < 1000; i++) limiter.admit(`c${i}`);
    expect(limiter.enabled).toBe(false);
    expect(limiter.size).toBe(0);
  });
});

describe('addressKey', () => {
  it('keeps IPv4 addresses whole and keys IPv6 ones by their /64', () => {
    const keys = ['192.0.2.7', '2001:db8:1:2::1', '2001:0db8:0001:0002:ffff:1:2:3', '2001:db8::1', '::1', 'fe80::1%eth0'].map(addressKey);
    expect(keys).toEqual(['192.0.2.7', '2001:db8:1:2::/64', '2001:db8:1:2::/64', '2001:db8:0:0::/64', '0:0:0:0::/64', 'fe80:0:0:0::/64']);
  });
});

describe('tokens', () => {
  it('are 256 random bits with a recognisable prefix, stored as SHA-256', () => {
    const token = newToken();
    expect(token.startsWith(TOKEN_PREFIX)).toBe(true);
    expect(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url')).toHaveLength(32);
    expect(newToken()).not.toBe(token);
    // The SHA-256 of 'abc' (FIPS 180-2 test vector).
    expect(tokenSha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('are found by hash among many, and nothing else is', () => {
    const tokens = Array.from({ length: 50 }, () => newToken());
    const set = new TokenSet(tokens.map((token, n) => ({ sha256: tokenSha256(token), n })));
    expect(set.find(tokens[37]!)?.n).toBe(37);
    expect(set.find(tokens[0]!)?.n).toBe(0);
    expect(set.find(`${tokens[1]}x`)).toBeUndefined();
    expect(set.find('')).toBeUndefined();
  });
});

/** The problems loadConfig names for these sources ([] when it loads). */
function problemsOf(sources: ConfigSources): string[] {
  try {
    loadConfig(sources);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

/** Runs `use` with `text` in a YAML file. */
async function withYaml<T>(text: string, use: (file: string) => T): Promise<T> {
  const temp = await tempDir('sparkngin-security-');
  try {
    const file = join(temp.dir, 'sparkngin.yaml');
    await writeFile(file, text);
    return use(file);
  } finally {
    await temp.remove();
  }
}

describe('security configuration', () => {
  const hash = tokenSha256('t');

  it('reads credentials from YAML and, as JSON, from the environment; auth is off by default', async () => {
    expect(authRequired(loadConfig())).toBe(false);
    const config = await withYaml(`auth:\n  tokens:\n    - {name: web, sha256: ${hash.toUpperCase()}, topics: ["web.*"]}\n`, (file) => loadConfig({ file }));
    expect(config.auth.tokens).toEqual([{ name: 'web', sha256: hash, topics: ['web.*'] }]);
    expect(authRequired(config)).toBe(true);
    const env = { [envName('ops.tokens')]: JSON.stringify([{ name: 'prom', sha256: hash }]) };
    expect(envName('ops.tokens')).toBe('SPARKNGIN_OPS_TOKENS');
    expect(loadConfig({ env }).ops.tokens).toEqual([{ name: 'prom', sha256: hash }]);
  });

  it('names what is wrong in a credential without echoing hashes', async () => {
    const problems = await withYaml(
      `auth:\n  tokens:\n    - {name: a, sha256: ${hash}, topics: ["*"]}\n    - {name: a, sha256: ${hash}, topics: ["*"]}\nops:\n  tokens:\n    - {name: p, sha256: ${hash.slice(1)}}\n`,
      (file) => problemsOf({ file }),
    );
    expect(problems).toContain("auth.tokens: record 2: name 'a' appears twice");
    expect(problems.find((p) => p.startsWith('ops.tokens'))).toMatch(/record 1: sha256 expected 64 hex digits .*got something else/);
    expect(problems.join('\n')).not.toContain(hash.slice(1));
    expect(problemsOf({ overrides: { 'auth.tokens': 'web=abc' } })[0]).toMatch(/got text that is not a JSON list/);
    expect(problemsOf({ overrides: { 'auth.certificates': '[{"cn":"x"}]' } })[0]).toMatch(/topics expected a non-empty list of strings/);
    expect(problemsOf({ overrides: { 'auth.tokens': `[{"name":"x","sha256":"${hash}","topics":["*"],"admin":true}]` } })[0]).toMatch(/unknown field admin/);
  });

  it('refuses settings that only work together when one is missing', () => {
    const problems = (overrides: Record<string, string>) => problemsOf({ overrides });
    expect(problems({ 'tls.cert': '/c.pem' })).toEqual(['tls.cert, tls.key: give both (the certificate and its private key) or neither']);
    expect(problems({ 'tls.cert': '/c', 'tls.key': '/k', 'tls.clientCerts': 'require' })[0]).toMatch(/needs tls\.ca/);
    expect(problems({ 'auth.certificates': '[{"cn":"a","topics":["*"]}]' })[0]).toMatch(/auth\.certificates: needs client certificates/);
    expect(problems({ 'auth.apiKeyHeader': 'Authorization' })[0]).toMatch(/auth\.apiKeyHeader/);
    expect(problems({ 'auth.openTopics': 'beacon.*' })[0]).toMatch(/every topic is open already/);
    expect(problems({ 'http.topics': '' })[0]).toMatch(/http\.topics: empty/);
    expect(problems({ 'rateLimit.requestsPerSecond': '0.1' })[0]).toMatch(/at least 1/);
    expect(problems({ 'ops.listen': 'localhost' })[0]).toMatch(/expected HOST:PORT/);
    expect(problems({ 'sinks.kafka.tls.ca': '/ca.pem' })[0]).toBe('sinks.kafka.tls.ca: set, but sinks.kafka.tls.enabled is false');
    expect(problems({ 'sinks.kafka.sasl.mechanism': 'plain', 'sinks.kafka.sasl.username': 'u' })[0]).toMatch(/needs sasl\.username and sasl\.password/);
    expect(problems({ 'sinks.kafka.sasl.mechanism': 'gssapi' })[0]).toMatch(/one of none\|plain\|scram-sha-256\|scram-sha-512/);
    const ok = loadConfig({ overrides: { 'ops.listen': '[::1]:9100', 'rateLimit.requestsPerSecond': '0.5', 'rateLimit.burstSeconds': '4', 'tls.cert': 'c.pem', 'tls.key': 'k.pem' } });
    expect(ok.rateLimit.requestsPerSecond).toBe(0.5);
    expect(ok.tls.cert).toBe(join(process.cwd(), 'c.pem'));
  });

  it('refuses a tracking-pixel header that carries a credential', () => {
    expect(problemsOf({ overrides: { 'tracker.headers': 'user-agent,Authorization' } })).toEqual(["tracker.headers: 'Authorization' carries a credential, which is never captured"]);
    expect(problemsOf({ overrides: { 'tracker.headers': 'x-token', 'auth.apiKeyHeader': 'X-Token' } })).toEqual(["tracker.headers: 'x-token' carries a credential, which is never captured"]);
  });

  it('never echoes a secret setting in an error', async () => {
    const problems = await withYaml('tls:\n  passphrase: [s3cret-a]\nsinks:\n  kafka:\n    sasl:\n      password: 987654321\n', (file) => problemsOf({ file }));
    expect(problems).toEqual([
      'tls.passphrase: expected a string, got something else (not shown: a secret)',
      'sinks.kafka.sasl.password: expected a string, got something else (not shown: a secret)',
    ]);
  });
});

describe('redaction', () => {
  it('replaces set secrets and every token hash in config show, and leaves the rest', () => {
    const config = defaultConfig();
    config.auth.tokens = [{ name: 'web', sha256: 'a'.repeat(64), topics: ['*'] }];
    config.ops.tokens = [{ name: 'p', sha256: 'b'.repeat(64) }];
    config.sinks.kafka.sasl = { mechanism: 'plain', username: 'u', password: 'pw' };
    config.tls.passphrase = 'pp';
    const shown = redactConfig(config) as any;
    expect(shown.auth.tokens).toEqual([{ name: 'web', sha256: '(redacted)', topics: ['*'] }]);
    expect(shown.ops.tokens[0].sha256).toBe('(redacted)');
    expect(shown.sinks.kafka.sasl).toEqual({ mechanism: 'plain', username: 'u', password: '(redacted)' });
    expect(shown.tls.passphrase).toBe('(redacted)');
    expect(shown.sinks.kafka.tls.passphrase).toBe('');
    expect(shown.spool).toEqual(config.spool);
    expect(config.sinks.kafka.sasl.password).toBe('pw');
  });

  it('cuts absolute paths out of what the ops endpoints send', () => {
    const stats = {
      sinks: [{ lastError: "EACCES: permission denied, open '/var/lib/sparkngin/out/web.ndjson'", health: { detail: 'ENOSPC writing /mnt/other/x.log' } }],
      spool: { segments: 3 },
      note: 'http://broker:9092/path stays',
    };
    expect(withoutPaths(stats, '/var/lib/sparkngin')).toEqual({
      sinks: [{ lastError: "EACCES: permission denied, open '<dataDir>/out/web.ndjson'", health: { detail: 'ENOSPC writing …/x.log' } }],
      spool: { segments: 3 },
      note: 'http://broker:9092/path stays',
    });
  });
});

describe('Kafka client security options', () => {
  it('are none when off, and carry the SASL mechanism and TLS settings when on', async () => {
    const kafka = defaultConfig().sinks.kafka;
    expect(kafkaSecurity(kafka)).toEqual({});
    const temp = await tempDir('sparkngin-kafka-tls-');
    try {
      await writeFile(join(temp.dir, 'ca.pem'), 'CA');
      const options = kafkaSecurity({ tls: { ...kafka.tls, enabled: true, ca: join(temp.dir, 'ca.pem'), servername: 'kafka.internal' }, sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' } });
      expect(options.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'u', password: 'p' });
      expect(options.ssl).toEqual({ ca: Buffer.from('CA'), servername: 'kafka.internal' });
      expect(() => kafkaSecurity({ tls: { ...kafka.tls, enabled: true, cert: join(temp.dir, 'missing.pem') }, sasl: kafka.sasl })).toThrow(/sinks\.kafka\.tls\.cert: cannot read .*missing\.pem \(ENOENT\)/);
    } finally {
      await temp.remove();
    }
  });
});
