/**
 * Independent cross-check tools some tests use when the machine has them (never runtime
 * dependencies): GDAL (`apt-get install gdal-bin`) and pngcheck (`apt-get install pngcheck`).
 */
import { execFileSync } from 'node:child_process';

function runs(command: string, args: readonly string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch (error) {
    // pngcheck without files exits 1 after printing its usage: installed all the same.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

export function hasGdal(): boolean {
  return runs('gdalinfo', ['--version']);
}

export function hasPngcheck(): boolean {
  return runs('pngcheck', []);
}
