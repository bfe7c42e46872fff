/**
 * The Temporal dev servers tests started and did not stop yet. Apart from temporal-server.ts so that the setup
 * file, loaded by every test file, does not load the Temporal client.
 */

/** Each running server's stop. */
export const runningTemporalServers = new Set<() => Promise<void>>();

/**
 * Ends the dev servers this test file left running (test/support/leftover-servers.ts calls it after each file),
 * such as one started by a hook that ran past its limit and so never handed the server to its clean-up.
 */
export async function stopLeftoverTemporalServers(): Promise<void> {
  const left = [...runningTemporalServers];
  runningTemporalServers.clear();
  await Promise.all(left.map((stop) => stop()));
}
