/**
 * A loopback port nothing listens on right now (bound, read, released): for starting a client before
 * its server, both told the address up front. Someone else may take the port before the server binds
 * it; the server then fails to listen and says which address.
 */
import { createServer } from 'node:net';

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
