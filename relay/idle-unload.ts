/**
 * When a room may unload: after `idleMs` with no peer and no hold (HTTP API
 * calls, hosted sessions keep it loaded while they run).
 */
export class IdleUnload {
  private holds = 0;
  private timer: NodeJS.Timeout | null = null;

  /**
   * @param idleMs how long a room stays loaded with nobody in it
   * @param hasPeers whether any peer is connected
   * @param canSchedule false once the room is destroyed
   * @param unload called when the room stayed idle for `idleMs`
   */
  constructor(
    private readonly idleMs: number,
    private readonly hasPeers: () => boolean,
    private readonly canSchedule: () => boolean,
    private readonly unload: () => void,
  ) {}

  /** Whether nothing keeps the room loaded: no peer and no hold. */
  get idle(): boolean {
    return !this.hasPeers() && this.holds === 0;
  }

  /** Keep the room loaded until the returned function is called. */
  hold(): () => void {
    this.holds++;
    this.cancel();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      this.maybeSchedule();
    };
  }

  cancel(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  maybeSchedule(): void {
    if (!this.canSchedule() || this.timer || !this.idle) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.idle) this.unload();
    }, this.idleMs);
    this.timer.unref();
  }
}
