/**
 * Agent hooks answered by the server: `POST /hooks/<agent>` for each agent
 * adapter (claude-code, codex, cursor, gemini, opencode). The adapter parses
 * the agent's hook input into a HookEvent, the policy (hook-policy.ts)
 * decides, the adapter renders the decision in the agent's wire format. An
 * empty answer body means "nothing to say" (Codex and Gemini read it as allow).
 *
 * Role, name and project overrides travel in `X-Huddle-Role`, `X-Huddle-Name`
 * and `X-Huddle-Project` headers (HTTP hooks, the shell shim), or in a
 * `huddle` object in the body (`huddle hook`); `X-Huddle-Pids` (the shim's
 * parent) and `huddle.ancestors` link an MCP server to its session.
 */
import { ADAPTERS, AGENT_KINDS, HookInputError, type AgentKind } from '../src/agents/index.js';
import { BodyError, readJsonBody } from './body.js';
import { HookError, HookPolicy } from './hook-policy.js';
import type { HttpHandler, ServerServices as HuddleServer } from './http.js';
import { HOOK_PATH } from '../src/protocol/constants.js';
import { NotOwnerError } from './not-owner.js';

export { HOOK_PATH };
const MAX_BODY = 1024 * 1024;

/** Add `POST /hooks/<agent>` for every agent, and the MCP server's session lookup. */
export function registerHooks(server: HuddleServer): HookPolicy {
  const policy = new HookPolicy(server);
  for (const agent of AGENT_KINDS) registerAgent(server, policy, agent);
  // An MCP server started by an agent asks which session its ancestors belong to.
  const lookup: HttpHandler = (c) => {
    const pids = (c.url.searchParams.get('pids') ?? '').split(',').slice(0, 8).map(Number).filter((n) => Number.isInteger(n) && n > 1);
    const hit = policy.memory.sessionOfPids(pids);
    if (!hit) server.json(c.res, 404, { error: 'no agent session known for these processes' });
    else server.json(c.res, 200, hit);
  };
  server.route('GET', `${HOOK_PATH}/session`, lookup, 'read');
  server.route('GET', '/hooks/session', lookup, 'read');
  return policy;
}

function registerAgent(server: HuddleServer, policy: HookPolicy, agent: AgentKind): void {
  const adapter = ADAPTERS[agent];
  server.route('POST', `/hooks/${agent}`, async (c) => {
    try {
      const body = await readJsonBody(c.req, MAX_BODY, 'hook input');
      // `huddle doctor`'s probe: the route answers, nothing is recorded.
      if (body.huddle_probe === true) return server.json(c.res, 200, { ok: true, agent });
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(c.req.headers)) if (typeof v === 'string') headers[k] = v;
      const ev = { ...adapter.parse(body, headers), channel: agent };
      // On a node of a team relay, a project another node owns is answered there: the router
      // forwards the request (its body kept by readJsonBody). Other failures are decide()'s to report.
      if (server.clustered) await server.room(policy.config(ev).project).catch((e: unknown) => {
        if (e instanceof NotOwnerError) throw e;
      });
      const reply = adapter.render(ev, await policy.decide(ev));
      if (reply.body === null) {
        c.res.writeHead(reply.status, { 'content-length': 0 });
        c.res.end();
      } else server.json(c.res, reply.status, reply.body);
    } catch (err) {
      if (err instanceof NotOwnerError) throw err;
      // A non-2xx answer is a non-blocking error for every agent (the shim prints nothing): the tool call goes ahead.
      const e = err as Error & { status?: number };
      const status = e instanceof HookError || e instanceof BodyError || e instanceof HookInputError ? e.status : 500;
      if (status >= 500) server.log.error('hook failed', { agent, error: e.message });
      else server.log.debug('hook refused', { agent, error: e.message });
      server.json(c.res, status, { error: e.message });
    }
  }, 'write');
}
