/**
 * The master's view of the request rules: they live in shared/request/request-rules.ts, where the
 * CLI and the web API read them too, so that a row is refused in the same words wherever it is checked.
 */
export { parseRequest, type RequestDefaults, type RequestFields } from '../shared/request/request-rules.js';
