/**
 * What every tile of a request tells its worker about the computation, beyond the strip and its
 * sources: the reflectance offset and the custom expression with its range (empty: none).
 */
import type { TileTask } from '../shared/proto/tile-service.js';
import type { MosaicJob } from '../shared/types.js';

export type JobTaskFields = Required<Pick<TileTask, 'reflectanceOffset' | 'expression' | 'expressionMin' | 'expressionMax'>>;

export function jobTaskFields(job: MosaicJob): JobTaskFields {
  const { expression } = job;
  return {
    reflectanceOffset: job.reflectanceOffset,
    expression: expression?.text ?? '',
    expressionMin: expression?.range.min ?? 0,
    expressionMax: expression?.range.max ?? 0,
  };
}
