/**
 * A scripted local mock of the Anthropic Messages API (SSE) on 127.0.0.1 for
 * driving the real Claude Code offline. The main conversation (requests that
 * offer the Edit tool) gets the scripted steps one by one, each a tool call or
 * a final text; every other request (titles, summaries) gets a short text.
 * Every request body is recorded for the test's assertions. `beforeMain`
 * runs before the i-th main answer (0-based): a test can act in the middle
 * of the tool loop (send a message) while the agent waits for the model.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Step = { tool: string; input: Record<string, unknown> } | { text: string };

export interface MockModel {
  url: string;
  requests: Array<Record<string, any>>;
  /** Requests of the main conversation. */
  main(): Array<Record<string, any>>;
  close(): Promise<void>;
}

function sse(res: http.ServerResponse, step: Step, n: number): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const send = (type: string, data: Record<string, unknown>) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  send('message_start', { message: { id: `msg_${n}`, type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } } });
  if ('tool' in step) {
    send('content_block_start', { index: 0, content_block: { type: 'tool_use', id: `toolu_${n}`, name: step.tool, input: {} } });
    send('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: JSON.stringify(step.input) } });
  } else {
    send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
    send('content_block_delta', { index: 0, delta: { type: 'text_delta', text: step.text } });
  }
  send('content_block_stop', { index: 0 });
  send('message_delta', { delta: { stop_reason: 'tool' in step ? 'tool_use' : 'end_turn', stop_sequence: null }, usage: { output_tokens: 5 } });
  send('message_stop', {});
  res.end();
}

export async function mockAnthropic(steps: Step[], opts: { beforeMain?: (i: number, body: Record<string, any>) => Promise<void> } = {}): Promise<MockModel> {
  const requests: Array<Record<string, any>> = [];
  const main: Array<Record<string, any>> = [];
  let n = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: Record<string, any> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {
        /* keep {} */
      }
      requests.push({ path: req.url, ...body });
      if (!req.url?.startsWith('/v1/messages') || req.url.includes('count_tokens')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ input_tokens: 10 }));
        return;
      }
      const isMain = Array.isArray(body.tools) && body.tools.some((t: { name?: string }) => t.name === 'Edit');
      n++;
      if (!isMain) return sse(res, { text: 'ok' }, n);
      main.push(body);
      const i = main.length - 1;
      const answer = () => sse(res, steps[i] ?? { text: 'done' }, n);
      if (!opts.beforeMain) return answer();
      opts.beforeMain(i, body).then(answer, (err: Error) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: `mock: ${err.message}` } }));
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    main: () => main,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
