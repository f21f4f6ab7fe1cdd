/**
 * The CLI's HTTP/1.1 client over node:net (cli/http1.ts) against a real
 * node:http server on loopback: bodies by length, chunked and to the end of
 * the connection, large ones, refused connections, timeouts, and heads that
 * must not be sent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { dechunk, http1Request, parseHead } from '../cli/http1.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const req = (method = 'GET', extra: Partial<Parameters<typeof http1Request>[1]> = {}) => ({ method, headers: {}, timeoutMs: 5000, ...extra });

describe('http1Request', () => {
  it('sends method, path, query, headers and body, and reads a Content-Length body', async () => {
    let seen: { method?: string; url?: string; type?: string; auth?: string; body?: string } = {};
    const base = await serve((rq, rs) => {
      const parts: Buffer[] = [];
      rq.on('data', (c: Buffer) => parts.push(c));
      rq.on('end', () => {
        seen = { method: rq.method, url: rq.url, type: rq.headers['content-type'], auth: rq.headers.authorization, body: Buffer.concat(parts).toString() };
        rs.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, é: 'ü' }));
      });
    });
    const body = Buffer.from('{"a":1}');
    const res = await http1Request(new URL('/api/p/x/op/lock?session=a%20b', base), req('POST', { body, headers: { 'content-type': 'application/json', 'content-length': body.length, authorization: 'Bearer t' } }));
    expect(res.status).toBe(201);
    expect(JSON.parse(res.body.toString('utf8'))).toEqual({ ok: true, é: 'ü' });
    expect(seen).toEqual({ method: 'POST', url: '/api/p/x/op/lock?session=a%20b', type: 'application/json', auth: 'Bearer t', body: '{"a":1}' });
  });

  it('reads chunked bodies, also large ones arriving in many pieces', async () => {
    const big = 'x'.repeat(3 * 1024 * 1024);
    const base = await serve((rq, rs) => {
      rs.writeHead(200);
      if (rq.url === '/big') for (let i = 0; i < big.length; i += 100_000) rs.write(big.slice(i, i + 100_000));
      else rs.write('hello, ');
      rs.end(rq.url === '/big' ? '' : 'world');
    });
    expect((await http1Request(new URL('/small', base), req())).body.toString()).toBe('hello, world');
    const res = await http1Request(new URL('/big', base), req());
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    expect(res.body.length).toBe(big.length);
  });

  it('reads a body delimited by the end of the connection, and an empty 204', async () => {
    const server = net.createServer((s) => {
      s.once('data', (d) => {
        if (d.toString().startsWith('GET /none')) s.end('HTTP/1.1 204 No Content\r\n\r\n');
        else s.end('HTTP/1.0 200 OK\r\nX-A: 1\r\nX-A: 2\r\n\r\nuntil the end');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => server.close(() => r())));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const res = await http1Request(new URL('/eof', base), req());
    expect(res.body.toString()).toBe('until the end');
    expect(res.headers.get('x-a')).toBe('1, 2');
    expect((await http1Request(new URL('/none', base), req())).status).toBe(204);
  });

  it('fails like node:http: ECONNREFUSED with no server, ECONNRESET on a cut response, "timed out" on silence', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    await expect(http1Request(new URL(`http://127.0.0.1:${port}/`), req())).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    const cut = net.createServer((s) => s.once('data', () => s.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort')));
    const silent = net.createServer(() => {});
    const open = new Set<net.Socket>();
    for (const s of [cut, silent]) {
      s.on('connection', (c) => open.add(c));
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      closers.push(() => new Promise((r) => s.close(() => r())));
    }
    closers.unshift(async () => {
      for (const c of open) c.destroy();
    });
    await expect(http1Request(new URL(`http://127.0.0.1:${(cut.address() as AddressInfo).port}/`), req())).rejects.toMatchObject({ code: 'ECONNRESET' });
    const silentReq = http1Request(new URL(`http://127.0.0.1:${(silent.address() as AddressInfo).port}/`), req('GET', { timeoutMs: 200 }));
    await expect(silentReq).rejects.toThrow('timed out');
  });

  it('refuses a header value that would split the request, before connecting', async () => {
    await expect(http1Request(new URL('http://127.0.0.1:9/'), req('GET', { headers: { authorization: 'Bearer a\r\nX-Evil: 1' } }))).rejects.toMatchObject({ code: 'ERR_INVALID_CHAR' });
    await expect(http1Request(new URL('https://127.0.0.1:9/'), req())).rejects.toThrow('http:// URLs');
  });
});

describe('parseHead and dechunk', () => {
  it('wait for a whole head and a whole chunked body, and reject malformed ones', () => {
    expect(parseHead(Buffer.from('HTTP/1.1 200 OK\r\nA: b'))).toBeNull();
    expect(parseHead(Buffer.from('HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody'))).toMatchObject({ status: 200, bodyStart: 25 });
    expect(() => parseHead(Buffer.from('SMTP ready\r\n\r\n'))).toThrow('status line');
    expect(() => parseHead(Buffer.from('HTTP/1.1 200 OK\r\nno colon\r\n\r\n'))).toThrow('header');
    expect(dechunk(Buffer.from('5\r\nhello\r\n'))).toBeNull();
    expect(dechunk(Buffer.from('5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n'))?.toString()).toBe('hello world');
    expect(() => dechunk(Buffer.from('zz\r\n'))).toThrow('chunk size');
  });
});
