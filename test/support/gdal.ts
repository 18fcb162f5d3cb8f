/** GDAL is an independent cross-check in some tests (never a runtime dependency): is it installed? */
import { execFileSync } from 'node:child_process';

export function hasGdal(): boolean {
  try {
    execFileSync('gdalinfo', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

