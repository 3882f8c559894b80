// The client's own HTTP/1.1 requests (src/client/http1.ts): the response parser fed every framing a
// server or proxy may answer with, cut at every byte; and the connection pool against real sockets
// (node:net servers writing answers byte for byte, and node:http's own server): keep-alive reuse,
// answers ending with the connection, a server that closes mid-answer, no answer in time, the bound
// on sockets, and giving up. What the client makes of answers (retries, refusals) is client.test.ts.
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Http1Error, Http1Pool, ResponseParser } from '../../src/client/http1';

const all = () => 1 << 20;

/** Parses `text` fed in pieces of `step` bytes; the result of each push, and the answer. */
function parse(text: string, step: number, keep: (status: number) => number = all) {
  const parser = new ResponseParser();
  parser.reset(keep, 1 << 20);
  const bytes = Buffer.from(text, 'latin1');
  const results: string[] = [];
  for (let at = 0; at < bytes.length; at += step) results.push(parser.push(bytes.subarray(at, at + step)));
  return { results, answer: parser.answer(), parser };
}

describe('the response parser', () => {
  const framings: Array<[string, string, string, string]> = [
    ['Content-Length', 'HTTP/1.1 202 Accepted\r\nContent-Length: 15\r\nContent-Type: application/json\r\n\r\n{"accepted":3,}', '{"accepted":3,}', 'done'],
    ['chunked, with an extension and trailers', 'HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\nRetry-After: 2\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n', 'hello world', 'done'],
    ['an interim 100 first', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', 'ok', 'done'],
    ['Connection: close', 'HTTP/1.1 400 Bad\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbad', 'bad', 'done-close'],
    ['HTTP/1.0 without keep-alive', 'HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx', 'x', 'done-close'],
    ['no length: to the close', 'HTTP/1.1 502 Bad Gateway\r\n\r\nproxy page', 'proxy page', 'more'],
    ['204: no body', 'HTTP/1.1 204 No Content\r\n\r\n', '', 'done'],
  ];
  for (const [name, text, body, last] of framings) {
    it(`reads ${name}, whatever the pieces it comes in`, () => {
      for (const step of [1, 2, 3, 7, 64, text.length]) {
        const { results, answer, parser } = parse(text, step);
        expect(results.at(-1)).toBe(last);
        expect(results.slice(0, -1).every((result) => result === 'more')).toBe(true);
        expect(answer.text).toBe(body);
        expect(parser.hasRest()).toBe(false);
        expect(parser.endsAtClose()).toBe(last === 'more');
      }
    });
  }

  it('keeps the headers (names lower-cased) and only the bytes asked for, by status', () => {
    const { answer } = parse('HTTP/1.1 202 Accepted\r\nRetry-After: 5\r\nContent-Length: 20\r\n\r\n{"accepted":3,"ids":', 5, (status) => (status === 202 ? 13 : 100));
    expect(answer).toEqual({ status: 202, headers: expect.objectContaining({ 'retry-after': '5', 'content-length': '20' }) as unknown, text: '{"accepted":3' });
  });

  it('says when bytes came after the answer', () => {
    expect(parse('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP', 100).parser.hasRest()).toBe(true);
  });

  it('refuses what is not an HTTP/1.x answer, a bad length or chunk size, and a head without end', () => {
    for (const text of ['SSH-2.0-OpenSSH\r\n\r\n', 'HTTP/1.1 202 OK\r\nContent-Length: -1\r\n\r\n', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'HTTP/1.1 200 OK\r\nbad header\r\n\r\n', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n']) {
      expect(() => parse(text, 1000)).toThrow(Http1Error);
    }
    expect(() => parse(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(70 * 1024)}`, 4096)).toThrow(/head over/);
  });

  it('bounds what it reads of an answer', () => {
    const parser = new ResponseParser();
    parser.reset(() => 10, 100);
    expect(() => parser.push(Buffer.from(`HTTP/1.1 500 Oops\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(1000)}`))).toThrow(/over 100 bytes/);
  });
});

describe('the connection pool', () => {
  const servers: Server[] = [];
  const pools: Http1Pool[] = [];
  afterEach(async () => {
    for (const pool of pools.splice(0)) pool.destroy();
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });

  /** A raw server: `answer` gets each socket and every request's bytes as they come. */
  async function rawServer(answer: (socket: Socket, data: Buffer) => void): Promise<{ port: number; connections: () => number }> {
    let connections = 0;
    const server = createServer((socket) => {
      connections++;
      socket.on('data', (data) => answer(socket, data));
      socket.on('error', () => undefined);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as { port: number }).port, connections: () => connections };
  }

  function pool(port: number, maxSockets = 4): Http1Pool {
    const made = new Http1Pool('127.0.0.1', port, maxSockets, 1 << 20);
    pools.push(made);
    return made;
  }

  const request = (body = 'SNW1') => ({ head: 'POST /v1/topics/t HTTP/1.1\r\nHost: x\r\n', body: Buffer.from(body), keep: all, timeoutMs: 5000 });

  it('against node:http: sends the head and body as given, reuses a kept-alive socket, reads chunked answers', async () => {
    const seen: Array<{ method?: string; url?: string; length?: string; body: string; socket: unknown }> = [];
    const server = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, length: req.headers['content-length'], body: Buffer.concat(chunks).toString(), socket: req.socket });
        res.writeHead(202, { 'content-type': 'application/json' });
        res.write('{"accepted":');
        res.end('1}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const made = pool((server.address() as { port: number }).port);
      for (const body of ['SNW1 one', 'SNW1 two']) {
        const answer = await made.request(request(body));
        expect(answer.status).toBe(202);
        expect(answer.text).toBe('{"accepted":1}');
      }
      expect(seen.map(({ method, url, length, body }) => [method, url, length, body])).toEqual([
        ['POST', '/v1/topics/t', '8', 'SNW1 one'],
        ['POST', '/v1/topics/t', '8', 'SNW1 two'],
      ]);
      expect(seen[0]!.socket).toBe(seen[1]!.socket);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('reads an answer that ends with the connection, then connects again', async () => {
    const server = await rawServer((socket) => socket.end('HTTP/1.0 502 Bad Gateway\r\n\r\nupstream down'));
    const made = pool(server.port);
    for (let i = 0; i < 2; i++) expect(await made.request(request())).toMatchObject({ status: 502, text: 'upstream down' });
    expect(server.connections()).toBe(2);
  });

  it('fails a request whose connection closes mid-answer, or is refused, or answers nothing in time', async () => {
    const cut = await rawServer((socket) => socket.end('HTTP/1.1 202 Accepted\r\nContent-Length: 50\r\n\r\n{"acc'));
    await expect(pool(cut.port).request(request())).rejects.toMatchObject({ reason: 'connection' });
    const closed = await rawServer(() => undefined);
    servers.pop()!.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(pool(closed.port).request(request())).rejects.toMatchObject({ reason: 'connection' });
    const silent = await rawServer(() => undefined);
    await expect(pool(silent.port).request({ ...request(), timeoutMs: 200 })).rejects.toMatchObject({ reason: 'timeout' });
  });

  it('uses at most maxSockets connections, queueing the rest, and gives everything up when destroyed', async () => {
    const held: Socket[] = [];
    const server = await rawServer((socket) => held.push(socket));
    const made = pool(server.port, 2);
    const answers = [1, 2, 3, 4].map(() => made.request(request()).catch((error: Http1Error) => error));
    const until = Date.now() + 5000;
    while (held.length < 2 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.connections()).toBe(2);
    expect(held.length).toBe(2);
    for (const socket of held.splice(0)) socket.write('HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n');
    while (held.length < 2 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(server.connections()).toBe(2);
    made.destroy();
    const settled = await Promise.all(answers);
    expect(settled.slice(0, 2).map((answer) => (answer as { status: number }).status)).toEqual([202, 202]);
    expect(settled.slice(2).map((error) => (error as Http1Error).reason)).toEqual(['given-up', 'given-up']);
    await expect(made.request(request())).rejects.toMatchObject({ reason: 'given-up' });
  });
});
