/**
 * A scripted local mock of the Gemini API (`streamGenerateContent?alt=sse`) on 127.0.0.1 for
 * driving the real Gemini CLI offline (GOOGLE_GEMINI_BASE_URL). Each generate call gets the next
 * scripted step (one functionCall part, or a final text) as one SSE `data:` line; every request
 * body is recorded for the test's assertions. Anything else answers 404.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A step; `before` runs when its request arrives, before the answer (to look at the world mid-run). */
export type GeminiStep = ({ call: string; args: Record<string, unknown> } | { text: string }) & { before?: () => Promise<void> };

export interface MockGemini {
  url: string;
  requests: Array<Record<string, any>>;
  close(): Promise<void>;
}

export async function mockGemini(steps: GeminiStep[]): Promise<MockGemini> {
  const requests: Array<Record<string, any>> = [];
  let next = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', async () => {
      if (req.method !== 'POST' || !/:streamGenerateContent\b/.test(req.url ?? '')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      let parsed: Record<string, any> = {};
      try { parsed = JSON.parse(body) as Record<string, any>; } catch { /* recorded as empty */ }
      requests.push(parsed);
      const step = steps[Math.min(next++, steps.length - 1)]!;
      await step.before?.().catch(() => {});
      const parts = 'call' in step ? [{ functionCall: { name: step.call, args: step.args } }] : [{ text: step.text }];
      const chunk = { candidates: [{ content: { role: 'model', parts }, finishReason: 'STOP', index: 0 }], usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 5, totalTokenCount: 15 }, modelVersion: 'gemini-2.5-flash' };
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.end(`data: ${JSON.stringify(chunk)}\r\n\r\n`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
