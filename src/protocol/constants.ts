/** Addresses every part of huddle agrees on, defined once. */

/** Where a local server listens unless told otherwise (`huddle serve`, the command, library peers). */
export const DEFAULT_URL = 'ws://127.0.0.1:4321';

/** The server's Claude Code hook endpoint (`POST`), and `GET …/session` for the MCP server's lookup. */
export const HOOK_PATH = '/hooks/claude-code';
