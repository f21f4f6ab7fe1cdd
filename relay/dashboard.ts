/** The browser dashboard served at `/` (see issue 7). Registers its routes on the server. */
import type { HuddleServer } from './server.js';

export function registerDashboard(_server: HuddleServer): void {
  // Filled in by the dashboard work.
}
