/**
 * A scripted local mock of the OpenAI Chat Completions API (SSE) on 127.0.0.1, for driving the
 * real opencode offline through its bundled `@ai-sdk/openai-compatible` provider. Each
 * POST …/chat/completions that offers tools gets the next scripted step (one function tool call,
 * or a final text); every such request body is recorded for the test's assertions. Requests
 * without tools (opencode's title generator) get a short text and are kept apart in `side`.
 * Anything else answers 404.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A step; `before` runs when its request arrives, before the answer (to look at the world mid-run). */
export type ChatStep = ({ call: string; args: Record<string, unknown> } | { text: string }) & { before?: () => Promise<void> };

export interface MockChat {
  url: string;
  requests: Array<Record<string, any>>;
  side: Array<Record<string, any>>;
  close(): Promise<void>;
}

export async function mockChat(steps: ChatStep[]): Promise<MockChat> {
  const requests: Array<Record<string, any>> = [];
  const side: Array<Record<string, any>> = [];
  let next = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', async () => {
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
        return;
      }
      let parsed: Record<string, any> = {};
      try { parsed = JSON.parse(body) as Record<string, any>; } catch { /* recorded as empty */ }
      const main = Array.isArray(parsed.tools) && parsed.tools.length > 0;
      let step: ChatStep = { text: 'Files' };
      if (main) {
        requests.push(parsed);
        const n = next++;
        step = steps[Math.min(n, steps.length - 1)]!;
        await step.before?.().catch(() => {});
      } else side.push(parsed);
      const id = `chatcmpl-${requests.length}-${side.length}`;
      const chunk = (delta: Record<string, unknown>, finish: string | null) => `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1, model: parsed.model ?? 'mock', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      if ('call' in step) {
        res.write(chunk({ role: 'assistant', tool_calls: [{ index: 0, id: `call_${requests.length}`, type: 'function', function: { name: step.call, arguments: JSON.stringify(step.args) } }] }, null));
        res.write(chunk({}, 'tool_calls'));
      } else {
        res.write(chunk({ role: 'assistant', content: step.text }, null));
        res.write(chunk({}, 'stop'));
      }
      res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1, model: parsed.model ?? 'mock', choices: [], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } })}\n\n`);
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    side,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
