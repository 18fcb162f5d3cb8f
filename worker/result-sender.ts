/**
 * Sends a worker's results to the master: SubmitResult, retried while the master is unreachable
 * and the lease may still be honoured (until a minute past it), fewer times once the worker is
 * stopping. Never rejects: a result that cannot be delivered is logged, and the master hands the
 * tile out again.
 */
import type * as grpc from '@grpc/grpc-js';
import { describeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { retry, type RetryPolicy } from '../shared/retry.js';
import type { SubmitResultRequest, TileServiceClient, TileTask__Output } from '../shared/proto/tile-service.js';
import type { SubmitResultResponse__Output } from '../shared/proto/generated/tessera/v1/SubmitResultResponse.js';

/** How long past its lease a result is still worth sending. */
const AFTER_LEASE_MS = 60_000;
/** One SubmitResult's deadline. */
const SUBMIT_DEADLINE_MS = 60_000;
/** Attempts a stopping worker still makes. */
const ATTEMPTS_WHEN_STOPPING = 3;

export interface ResultSenderOptions {
  readonly client: TileServiceClient;
  readonly policy: RetryPolicy;
  /** Whether the worker is stopping. */
  readonly stopping: () => boolean;
}

export class ResultSender {
  readonly #options: ResultSenderOptions;

  constructor(options: ResultSenderOptions) {
    this.#options = options;
  }

  /** Sends `result` for `task`; resolves once the master answered or delivery was given up. */
  async send(result: SubmitResultRequest, task: TileTask__Output, log: Logger): Promise<void> {
    const giveUpAt = task.leaseExpiresAtMs + AFTER_LEASE_MS;
    try {
      const verdict = await retry(() => this.#sendOnce(result), {
        policy: this.#options.policy,
        shouldRetry: (_error, failures) => Date.now() <= giveUpAt && !(this.#options.stopping() && failures > ATTEMPTS_WHEN_STOPPING),
      });
      if (!verdict.accepted) log.info({ reason: verdict.reason }, 'result not accepted');
    } catch (error) {
      log.warn({ error: describeError(error) }, 'could not deliver result; the master will hand the tile out again');
    }
  }

  #sendOnce(result: SubmitResultRequest): Promise<SubmitResultResponse__Output> {
    return new Promise((resolve, reject) => {
      this.#options.client.SubmitResult(
        result,
        { deadline: Date.now() + SUBMIT_DEADLINE_MS },
        (error: grpc.ServiceError | null, response?: SubmitResultResponse__Output) => {
          if (error) reject(error);
          else if (!response) reject(new Error('empty SubmitResult response'));
          else resolve(response);
        },
      );
    });
  }
}
