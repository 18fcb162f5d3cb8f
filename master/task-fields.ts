/**
 * What every tile of a request tells its worker about the computation, beyond the strip and its
 * sources: the reflectance offset, the custom expression with its range (empty: none), and the SCL
 * classes to mask with the band that holds them (empty: no masking).
 */
import type { TileTask } from '../shared/proto/tile-service.js';
import { SCL_BAND, type MosaicJob } from '../shared/types.js';

export type JobTaskFields = Required<Pick<TileTask, 'reflectanceOffset' | 'expression' | 'expressionMin' | 'expressionMax' | 'maskClasses' | 'maskBand'>>;

export function jobTaskFields(job: MosaicJob): JobTaskFields {
  const { expression } = job;
  return {
    reflectanceOffset: job.reflectanceOffset,
    expression: expression?.text ?? '',
    expressionMin: expression?.range.min ?? 0,
    expressionMax: expression?.range.max ?? 0,
    maskClasses: job.mask ? [...job.mask.classes] : [],
    maskBand: job.mask ? SCL_BAND : '',
  };
}
