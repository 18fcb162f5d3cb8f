/**
 * SIGTERM / SIGINT handling for long-running commands: the first signal stops gracefully (finish or
 * hand back the work in hand), a second one stops at once. `docker stop` sends SIGTERM, then SIGKILL
 * after the grace period.
 */
import type { Logger } from '../shared/logger.js';

export function stopOnSignals(stop: (graceful: boolean) => Promise<void>, log: Logger): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal: stopping now');
      stop(false).finally(() => process.exit(130));
      return;
    }
    stopping = true;
    log.info({ signal }, 'stopping gracefully (send again to force)');
    stop(true).then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
