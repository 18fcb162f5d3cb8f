import { TesseraError } from '../shared/errors.js';

/**
 * The command line asks for something that cannot work (no --band, an earthdaily request without
 * corners). Thrown from an action, after commander's own parsing, so the CLI prints it itself.
 */
export class UsageError extends TesseraError {}
