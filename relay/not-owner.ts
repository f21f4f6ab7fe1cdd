/**
 * Thrown by the server's room() on a node of a team relay (`--store postgres://…`) for a
 * project that another node owns, or that nobody owns right now. The router answers it:
 * it forwards the request to the owner (http-forward.ts), or says 503 "try again".
 */
export class NotOwnerError extends Error {
  constructor(
    readonly project: string,
    /** The live owner: its node name and `--node-url` (ws:// or wss://); null when nobody owns it now. */
    readonly owner: { node: string; url: string } | null,
    message: string,
  ) {
    super(message);
  }
}
