/**
 * Whoever loses a lock is told, wherever they are. A hosted session (an agent
 * behind hooks, a CLI session) has no process listening for `lock-lost`, so
 * the server keeps one line per lost lock for it and hands it out once per
 * surface: the next hook call injects it, the next CLI command prints it on
 * stderr. A lock dropped by the relay rule (a rival ordered first after a
 * partition or a restart) also goes to the session's inbox and the timeline,
 * where the dashboard shows it; a forced release is already there (the forcer
 * sends the message and the release is recorded).
 */
import type { Presence, LockLostReason } from '../src/peer/presence.js';
import type { SharedContext, Actor } from '../src/model/context.js';
import type { LockClaim } from '../src/model/locks.js';
import { ContextError } from '../src/model/context.js';
import { clip } from '../src/model/inject.js';

export type NoticeSurface = 'hook' | 'cli';

export interface LockNotice {
  path: string;
  reason: LockLostReason;
  holder: string | null;
  /** The forcer's reason (forced releases). */
  why?: string;
  at: number;
  text: string;
  pending: Set<NoticeSurface>;
}

/** Who speaks for the server in messages and the timeline. */
export const SERVER_ACTOR: Actor = { id: 'huddle', name: 'huddle', role: 'server' };

const MAX_NOTICES = 20;

export class LockNotices {
  private readonly list: LockNotice[] = [];

  constructor(private readonly presence: Presence, private readonly ctx: SharedContext) {
    presence.on('lock-lost', this.onLost);
  }

  private onLost = ({ claim, reason }: { claim: LockClaim; reason: LockLostReason }): void => {
    if (reason === 'expired') return; // a lapsed TTL is the holder's own doing
    const me = this.presence.current;
    let holder: string | null = null;
    let why: string;
    let forcerReason: string | undefined;
    if (reason === 'forced') {
      const f = this.ctx.forcedMap.get(claim.id) as { byName?: unknown; reason?: unknown } | undefined;
      holder = typeof f?.byName === 'string' ? f.byName : null;
      forcerReason = typeof f?.reason === 'string' && f.reason !== '' ? f.reason : undefined;
      // The forcer's words reach the agent outside the fence in a denial's reason: one clipped line.
      why = `released by ${holder ? clip(holder, 60) : 'another session'}${forcerReason ? `: ${clip(forcerReason, 160)}` : ''}`;
    } else {
      holder = this.presence.blockers([claim.path], claim.mode, true)[0]?.sessionName ?? null;
      why = `${holder ? clip(holder, 60) : 'another session'} holds it (its claim came first when the locks were ordered again after a reconnect or restart)`;
    }
    const text = `huddle: your lock on ${claim.path} was dropped: ${why}.`;
    this.list.push({ path: claim.path, reason, holder, why: forcerReason, at: Date.now(), text, pending: new Set(['hook', 'cli']) });
    if (this.list.length > MAX_NOTICES) this.list.splice(0, this.list.length - MAX_NOTICES);
    if (reason === 'conflict') {
      try {
        this.ctx.doc.transact(() => {
          this.ctx.send(SERVER_ACTOR, { to: me.id, kind: 'fyi', text: text.replace(/^huddle: /, '') });
          this.ctx.record(SERVER_ACTOR, 'lock.lost', `${claim.path} of ${me.name}: ${holder ? `${holder} holds it` : 'ordered after a rival'}`, claim.id);
        });
      } catch (err) {
        if (!(err instanceof ContextError)) throw err;
      }
    }
  };

  /** Lines not yet shown on this surface, marked shown. */
  take(surface: NoticeSurface): string[] {
    return this.takeNotices(surface).map((n) => n.text);
  }

  /** The notices themselves (post-tool delivery renders them inside the team-context fence). */
  takeNotices(surface: NoticeSurface): LockNotice[] {
    const out: LockNotice[] = [];
    for (const n of this.list) {
      if (n.pending.delete(surface)) out.push(n);
    }
    return out;
  }


  close(): void {
    this.presence.off('lock-lost', this.onLost);
  }
}

/** Events whose hook output may carry additionalContext. */
const CONTEXT_EVENTS = new Set(['SessionStart', 'UserPromptSubmit', 'PreToolUse', 'PostToolUse']);

export function acceptsNotices(event: string): boolean {
  return CONTEXT_EVENTS.has(event);
}

/** A hook reply with the lines added to what the agent reads (and to a denial's reason). */
export function withNotices(reply: Record<string, unknown>, event: string, lines: string[]): Record<string, unknown> {
  if (lines.length === 0) return reply;
  const text = lines.join('\n');
  const out = (reply.hookSpecificOutput ?? { hookEventName: event }) as Record<string, unknown>;
  const prev = typeof out.additionalContext === 'string' ? out.additionalContext : '';
  const next: Record<string, unknown> = { ...out, additionalContext: prev ? `${text}\n${prev}` : text };
  if (typeof out.permissionDecisionReason === 'string') next.permissionDecisionReason = `${out.permissionDecisionReason} (${text})`;
  return { ...reply, hookSpecificOutput: next };
}
