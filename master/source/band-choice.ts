/**
 * Refuses a request whose bands read band 1 of a multi-band file together: `{"red": "scene.tif",
 * "nir": "scene.tif"}` names no band, so both read band 1 (a reference without `#N` does) and NDVI
 * would be 0 everywhere. The message says to pick each band's number with `#N`. Bands that name
 * another band twice (`#3` and `#3`) chose it explicitly and are let be.
 */
import { InvalidRequestError } from '../../shared/errors.js';
import type { BandInput } from '../../shared/types.js';
import { withoutQuery } from '../../shared/urls.js';

/**
 * Throws InvalidRequestError when two bands of `inputs` read band 1 of a file that has several;
 * `fileOf(uri)` names the file a reference opens (same key: same file) and how many bands it has.
 */
export function checkBandChoice(inputs: readonly BandInput[], fileOf: (uri: string) => { readonly key: string; readonly bands: number }): void {
  const readers = new Map<string, BandInput[]>();
  for (const input of inputs) {
    if (input.band !== 1) continue;
    const { key } = fileOf(input.uri);
    readers.set(key, [...(readers.get(key) ?? []), input]);
  }
  for (const shared of readers.values()) {
    const [first] = shared;
    if (!first || shared.length < 2) continue;
    const { bands } = fileOf(first.uri);
    if (bands < 2) continue;
    const shown = withoutQuery(first.uri);
    const names = shared.map((input) => input.name);
    const example = `{${shared.map((input, i) => `"${input.name}": "${shown}#${i + 1}"`).join(', ')}}`;
    throw new InvalidRequestError(
      `${names.join(' and ')} ${names.length === 2 ? 'both' : 'all'} read band 1 of "${shown}" (a reference without #N reads band 1), ` +
        `which has ${bands} bands: pick the band each of them is with #N (1 to ${bands}), e.g. ${example} with the right numbers`,
    );
  }
}
