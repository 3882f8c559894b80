// The tracking pixel, `GET /tracker/{name}/{site}`, as a browser uses it (ingest-harness.ts: a real
// server and real HTTP requests): the image, the visitor cookies carried from one request to the
// next, the event it records, and its input checked like every other.
import { describe, expect, it } from 'vitest';
import { NOW, raw, serverPerFile, startServer } from './ingest-harness';

const h = serverPerFile({}, undefined, { topic: 'visits', headers: ['User-Agent', 'referer', 'x-campaign'], cookieMaxAgeDays: 30 });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The cookies a Set-Cookie list sets, as a browser would send them back (`name=value; …`). */
const cookieHeader = (setCookies: string[]) => setCookies.map((cookie) => cookie.split(';')[0]).join('; ');

const visit = (path: string, headers: Record<string, string> = {}) => fetch(`${h.url}${path}`, { headers });

describe('GET /tracker/{name}/{site}', () => {
  it('answers a 1×1 GIF no cache keeps, sets the visitor cookies, and records the visit', async () => {
    const response = await visit('/tracker/signup/example.com', { 'user-agent': 'TestBrowser/1.0', referer: 'https://example.com/pricing', 'x-other': 'not captured' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/gif');
    expect(response.headers.get('cache-control')).toMatch(/no-store/);
    const image = Buffer.from(await response.arrayBuffer());
    expect(image.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    expect([image.readUInt16LE(6), image.readUInt16LE(8)]).toEqual([1, 1]);

    const cookies = response.headers.getSetCookie();
    expect(cookies.map((cookie) => cookie.split('=')[0])).toEqual(['id', 'visit-count', 'first-visit-time']);
    for (const cookie of cookies) expect(cookie).toMatch(/; Max-Age=2592000; Path=\/; HttpOnly; SameSite=Lax$/);
    const id = /^id=([^;]+)/.exec(cookies[0]!)![1]!;
    expect(id).toMatch(UUID);
    expect(cookies[1]).toMatch(/^visit-count=1;/);
    expect(cookies[2]).toMatch(new RegExp(`^first-visit-time=${NOW};`));

    const [event] = h.target.events;
    expect(event).toMatchObject({ topic: 'visits', key: id, type: 'json', ip: '127.0.0.1' });
    expect(JSON.parse(event!.data.toString())).toEqual({
      name: 'signup',
      site: 'example.com',
      visitor: { id, visitCount: 1, firstVisitTime: NOW, new: true },
      headers: { 'user-agent': 'TestBrowser/1.0', referer: 'https://example.com/pricing' },
    });
    expect(h.target.calls[0]!.ack).toBe('spool');
  });

  it('counts the same visitor across requests by the cookies it set', async () => {
    const first = await visit('/tracker/home/example.com');
    const cookies = cookieHeader(first.headers.getSetCookie());
    const second = await visit('/tracker/home/example.com', { cookie: `theme=dark; ${cookies}` });
    const third = await visit('/tracker/home/example.com', { cookie: cookieHeader(second.headers.getSetCookie()) });
    expect(third.headers.getSetCookie()[1]).toMatch(/^visit-count=3;/);
    const visitors = h.target.events.map((event) => JSON.parse(event.data.toString()).visitor);
    expect(visitors.map((visitor) => [visitor.visitCount, visitor.new])).toEqual([
      [1, true],
      [2, false],
      [3, false],
    ]);
    expect(new Set(visitors.map((visitor) => visitor.id)).size).toBe(1);
    expect(new Set(h.target.events.map((event) => event.key)).size).toBe(1);
  });

  it('starts a new visitor when the cookies are not ones it wrote', async () => {
    const forged = ['id=1; visit-count=5; first-visit-time=1', `id=${'a'.repeat(36)}; visit-count=5; first-visit-time=1`, `id=${crypto.randomUUID()}; visit-count=-1; first-visit-time=1`];
    for (const cookie of forged) await visit('/tracker/t/s', { cookie });
    expect(h.target.events.map((event) => JSON.parse(event.data.toString()).visitor.new)).toEqual([true, true, true]);
  });

  it('decodes name and site strictly and bounds them; refuses headers that are not UTF-8', async () => {
    const decoded = await visit('/tracker/sign%20up/caf%C3%A9.example');
    expect(decoded.status).toBe(200);
    expect(JSON.parse(h.target.events[0]!.data.toString())).toMatchObject({ name: 'sign up', site: 'café.example' });
    for (const path of ['/tracker/only-a-name', '/tracker/a/b/c', '/tracker//site', '/tracker/%ff/site', '/tracker/a/%0a', `/tracker/${'n'.repeat(257)}/site`]) {
      const answer = await visit(path);
      expect({ path, status: answer.status, code: ((await answer.json()) as { error: { code: string } }).error.code }).toEqual({ path, status: 400, code: 'INVALID_TRACKER_PATH' });
    }
    const { text } = await raw(h.port, Buffer.from('GET /tracker/a/b HTTP/1.1\r\nHost: x\r\nX-Campaign: \xe9t\xe9\r\nConnection: close\r\n\r\n', 'latin1'));
    expect(text).toMatch(/^HTTP\/1\.1 400 [^]*"INVALID_UTF8"/);
    expect(h.target.calls).toHaveLength(1);
  });

  it('is GET only, and absent when tracker.enabled is false', async () => {
    const posted = await fetch(`${h.url}/tracker/a/b`, { method: 'POST', body: '{}' });
    expect([posted.status, posted.headers.get('allow')]).toEqual([405, 'GET']);
    const off = await startServer({}, undefined, { enabled: false });
    try {
      expect((await fetch(`${off.url}/tracker/a/b`)).status).toBe(404);
    } finally {
      await off.close();
    }
  });
});
