/**
 * A scripted local mock of the OpenAI Responses API (SSE) on 127.0.0.1 for driving the real
 * Codex CLI offline. Each POST /v1/responses gets the next scripted step (an apply_patch
 * custom tool call, an exec_command function call, or a final text); every request body is
 * recorded for the test's assertions. Anything else answers 404 (Codex tolerates it).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A step; `before` runs when its request arrives, before the answer (to wait for the rest of a team). */
export type CodexStep = ({ patch: string } | { cmd: string } | { text: string }) & { before?: () => Promise<void> };

export interface MockResponses {
  url: string;
  requests: Array<Record<string, any>>;
  close(): Promise<void>;
}

function item(step: CodexStep, n: number): Record<string, unknown> {
  if ('patch' in step) return { type: 'custom_tool_call', id: `ctc_${n}`, call_id: `call_${n}`, name: 'apply_patch', input: step.patch, status: 'completed' };
  if ('cmd' in step) return { type: 'function_call', id: `fc_${n}`, call_id: `call_${n}`, name: 'exec_command', arguments: JSON.stringify({ cmd: step.cmd }), status: 'completed' };
  return { type: 'message', id: `msg_${n}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: step.text, annotations: [] }] };
}

export async function mockResponses(steps: CodexStep[]): Promise<MockResponses> {
  const requests: Array<Record<string, any>> = [];
  let next = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', async () => {
      if (req.method !== 'POST' || !req.url?.startsWith('/v1/responses')) {
        res.writeHead(404).end();
        return;
      }
      let parsed: Record<string, any> = {};
      try { parsed = JSON.parse(body) as Record<string, any>; } catch { /* recorded as empty */ }
      requests.push(parsed);
      const n = ++next;
      const step = steps[Math.min(n - 1, steps.length - 1)]!;
      await step.before?.().catch(() => {});
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const send = (type: string, data: Record<string, unknown>) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
      const it = item(step, n);
      send('response.created', { response: { id: `resp_${n}` } });
      send('response.output_item.added', { output_index: 0, item: it });
      send('response.output_item.done', { output_index: 0, item: it });
      send('response.completed', { response: { id: `resp_${n}`, usage: { input_tokens: 10, input_tokens_details: null, output_tokens: 5, output_tokens_details: null, total_tokens: 15 } } });
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
