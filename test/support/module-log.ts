/**
 * `node --import <this file>` (e.g. in NODE_OPTIONS, so child processes do it too): appends the URL
 * of every module the process imports to the file named by TESSERA_MODULE_LOG, one `<pid> <url>` a
 * line. Lets a test tell which modules a CLI command loaded (ES imports, including dynamic ones).
 */
import { register } from 'node:module';

if (process.env['TESSERA_MODULE_LOG']) register('./module-log-hooks.js', import.meta.url);
