/**
 * opencode's wire format: opencode has plugins, not config hooks, so the
 * format is huddle's own, spoken by the plugin `huddle init` writes
 * (`.opencode/plugins/huddle.ts`):
 *
 *   {event:"session.created"|"system"|"tool.before"|"tool.after"|"session.deleted"|"exit"|…,
 *    sessionID, directory, tool?, args?}
 *
 * and answered `{deny?, inject?}`: the plugin throws `deny` from
 * `tool.execute.before` (the model sees it as the tool's error) and pushes
 * `inject` into the system prompt.
 *
 *   edit/write {filePath}   patch {patchText}   bash {command}
 */
import type { AgentAdapter, HookDecision, HookEvent, HookEventKind, RenderedReply } from './event.js';
import { HookInputError } from './event.js';
import { absCwd, obj, overrides, sessionId, str, wholeFile } from './common.js';
import { patchWrites } from './patch.js';

const KINDS: Record<string, HookEventKind> = {
  'session.created': 'session-start',
  system: 'prompt',
  'tool.before': 'pre-tool',
  'tool.after': 'post-tool',
  'session.idle': 'activity',
  'session.deleted': 'session-end',
  // The plugin's dispose hook: opencode is exiting (it sends no session event then).
  exit: 'session-end',
};

export const opencode: AgentAdapter = {
  agent: 'opencode',
  parse(raw, headers): HookEvent {
    const body = obj(raw);
    const name = str(body.event);
    if (!name) throw new HookInputError('missing "event"');
    const kind = KINDS[name] ?? 'activity';
    const ev: HookEvent = { agent: 'opencode', kind, session: sessionId(body.sessionID, 'sessionID'), cwd: absCwd(body.directory, 'directory'), writes: [], ...overrides(body, headers) };
    if (kind === 'pre-tool' || kind === 'post-tool') {
      const tool = str(body.tool) ?? '';
      const a = obj(body.args);
      ev.tool = tool;
      ev.toolUseId = str(body.callID);
      const file = str(a.filePath) ?? str(a.file_path) ?? str(a.path);
      const patch = str(a.patchText) ?? str(a.patch);
      if ((tool === 'edit' || tool === 'write' || tool === 'multiedit') && file) ev.writes = [kind === 'post-tool' && tool === 'write' ? wholeFile(file, a.content) : { path: file, via: 'tool' }];
      else if ((tool === 'patch' || tool === 'apply_patch') && patch) ev.writes = patchWrites(patch);
      else if (tool === 'bash') ev.shell = str(a.command);
    }
    return ev;
  },
  render(ev, d: HookDecision): RenderedReply {
    const body: Record<string, string> = {};
    if (d.deny) body.deny = d.deny;
    const context = [d.warn, d.inject].filter(Boolean).join('\n\n');
    if (context) body.inject = context;
    return { status: 200, body };
  },
};
