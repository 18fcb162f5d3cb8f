/** A loopback port nothing listens on right now (bound, read, released). */
export { freePort } from '../../shared/free-port.js';
