import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { codeExpression, findGdal } from '../../bench/gdal-peer.js';
import { computeIndexTile } from '../../shared/raster/index-math.js';

/** Pairs of DNs around the edges: no-data, denominators ≤ 0, clamping, ratios that land on .5 of a code. */
function samplePairs(): Array<[number, number]> {
  const pairs: Array<[number, number]> = [[0, 1500], [1500, 0], [0, 0], [1000, 1000], [999, 1000], [500, 600], [1090, 1030], [1001, 65535], [65535, 1001], [1001, 1001]];
  let s = 7;
  for (let i = 0; i < 20000; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const a = 1 + (s % 12000);
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    pairs.push([a, 1 + (s % 12000)]);
  }
  return pairs;
}

describe('GDAL peer', () => {
  const gdal = findGdal();

  it('computes exactly tessera\'s codes with its gdal_calc.py expression', { skip: gdal.available ? false : 'GDAL is not installed' }, () => {
    if (!gdal.available) return;
    const pairs = samplePairs();
    const offset = -1000;
    const identity = Int32Array.from({ length: pairs.length }, (_, i) => i);
    const band = (values: number[]) => ({ values: Uint16Array.from(values), windowWidth: pairs.length, nodata: 0, columns: identity, rows: Int32Array.of(0) });
    const { codes } = computeIndexTile({ width: pairs.length, height: 1, reflectanceOffset: offset, a: band(pairs.map((p) => p[0])), b: band(pairs.map((p) => p[1])) });
    // gdal_calc.py evaluates the expression with every numpy name in scope, A and B as the input arrays.
    const script = [
      'import json, sys, numpy',
      'ns = {k: getattr(numpy, k) for k in dir(numpy) if not k.startswith("__")}',
      'pairs = json.loads(sys.stdin.read())',
      'A = numpy.array([p[0] for p in pairs], dtype=numpy.uint16)',
      'B = numpy.array([p[1] for p in pairs], dtype=numpy.uint16)',
      'with numpy.errstate(all="ignore"):',
      '    out = eval(sys.argv[1], ns, {"A": A, "B": B})',
      'print(json.dumps(out.astype(numpy.uint8).tolist()))',
    ].join('\n');
    const output = execFileSync(gdal.python, ['-c', script, codeExpression(offset)], { input: JSON.stringify(pairs), encoding: 'utf8', maxBuffer: 1 << 24 });
    const theirs = JSON.parse(output) as number[];
    const differing = pairs.filter((_, i) => theirs[i] !== codes[i]);
    assert.deepEqual(differing, [], 'pairs where GDAL and tessera disagree');
    assert.equal(theirs[0], 0);
    assert.equal(theirs[3], 0, 'denominator 0 is no-data');
    assert.equal(theirs[4], 0, 'negative denominator is no-data');
  });
});
