/**
 * The agent seam: every agent CLI (Claude Code, Codex, Cursor, Gemini CLI,
 * opencode) has its own hook wire format. One adapter per agent parses its
 * payload into a HookEvent and renders the policy's HookDecision back into
 * that agent's wire format; the policy in between is agent-neutral.
 *
 * Pure types: no sockets, no files.
 */

export const AGENT_KINDS = ['claude-code', 'codex', 'cursor', 'gemini', 'opencode'] as const;
export type AgentKind = (typeof AGENT_KINDS)[number];

/** What happened in the agent, in the policy's terms. */
export type HookEventKind =
  | 'session-start' // a session begins (or resumes, or was cleared)
  | 'prompt' // the user submitted a prompt (per-turn context)
  | 'pre-tool' // a tool is about to run: the policy may deny it
  | 'post-tool' // a tool ran: record edits, deliver what is new
  | 'stop' // the agent is about to stop its turn
  | 'session-end' // the session ends: release everything
  | 'activity'; // any other hook event: a sign of life only

/** One file the tool would write, relative to the repository root of `cwd` or absolute. */
export interface WriteIntent {
  path: string;
  /** 1-based inclusive line ranges, when the agent's own payload says which lines. */
  lines?: Array<[number, number]>;
  /** How the write was found: a tool argument, a patch header, a shell command. */
  via: 'tool' | 'patch' | 'shell';
}

export interface HookEvent {
  agent: AgentKind;
  kind: HookEventKind;
  /** The agent's own session id (Claude Code session_id, Codex session_id, Cursor conversation_id…). */
  session: string;
  /** Working directory the agent reported. */
  cwd: string;
  /** The agent's tool name, verbatim (Edit, apply_patch, replace, write_file, Bash…). */
  tool?: string;
  /** Files the tool would write (pre-tool) or wrote (post-tool). Empty for reads. */
  writes: WriteIntent[];
  /** A shell command, when the tool runs one (the policy derives writes from it). */
  shell?: string;
  /** The user's prompt (prompt events). */
  prompt?: string;
  /** SessionStart source: startup, resume, clear, compact, fork. */
  source?: string;
  /** Overrides carried by the hook (headers or the shim's environment). */
  role?: string;
  name?: string;
  project?: string;
  /** Process ancestry reported by a command hook (links the MCP server to its session). */
  pids?: number[];
  /** The agent's id of this tool call, when it has one. */
  toolUseId?: string;
  /** Which adapter (route) parsed it: Cursor may send one call through its own hooks and Claude Code's. */
  channel?: AgentKind;
  /** This agent event's answer cannot carry context (Cursor afterFileEdit): nothing is delivered, or used up, on it. */
  quiet?: boolean;
}

/** What the policy decided, agent-neutral. The adapter renders it. */
export interface HookDecision {
  /** Deny the tool call with this reason (names the holder). */
  deny?: string;
  /** Let it go ahead but tell the agent this. */
  warn?: string;
  /** Context to inject (fenced, attributed team data). */
  inject?: string;
  /** Keep a stopping turn going with this text (stop events, where the agent supports it). */
  keepGoing?: string;
}

/** The reply an adapter renders: an HTTP status and the body the agent expects (often empty). */
export interface RenderedReply {
  status: number;
  /** JSON value to send, or null for an empty body (Codex/Gemini read empty as allow). */
  body: unknown;
  /** Exit code a command shim should use (Codex/Cursor/Gemini honour 2 = block). */
  exitCode?: number;
}

/** A hook payload that cannot be an event of this agent (missing session, relative cwd…): answered 400. */
export class HookInputError extends Error {
  readonly status = 400;
}

export interface AgentAdapter {
  readonly agent: AgentKind;
  /** Parse a raw hook payload (already JSON-decoded, untrusted) into an event; throws HookInputError when it cannot be one. */
  parse(body: unknown, headers: Record<string, string | undefined>): HookEvent;
  /** Render a decision for that event in this agent's wire format. */
  render(event: HookEvent, decision: HookDecision): RenderedReply;
}
