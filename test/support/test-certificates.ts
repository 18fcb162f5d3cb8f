/**
 * Certificates for TLS tests, made with the openssl command line into a folder (the README's
 * recipe, shortened): a CA; a server certificate it signed for 127.0.0.1 and localhost (and any
 * other names asked for); a client
 * certificate it signed; and a second, unrelated CA with a client certificate of its own (one the
 * master must not accept).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificates {
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  readonly rogueCa: string;
  readonly rogueClientCert: string;
  readonly rogueClientKey: string;
}

export async function opensslAvailable(): Promise<boolean> {
  return run('openssl', ['version']).then(
    () => true,
    () => false,
  );
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function makeCa(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await run('openssl', ['req', '-x509', ...EC_KEY, '-days', '2', '-subj', `/CN=${name}`, '-keyout', key, '-out', cert]);
  return { cert, key };
}

async function makeSigned(dir: string, name: string, ca: { cert: string; key: string }, extensions: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  await writeFile(ext, extensions);
  await run('openssl', ['req', ...EC_KEY, '-subj', `/CN=${name}`, '-keyout', key, '-out', csr]);
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '2', '-extfile', ext, '-out', cert]);
  return { cert, key };
}

/** `serverAltNames`: more subjectAltName entries for the server certificate, e.g. `IP:198.18.0.1`. */
export async function makeTestCertificates(dir: string, options: { serverAltNames?: readonly string[] } = {}): Promise<TestCertificates> {
  const altNames = ['IP:127.0.0.1', 'DNS:localhost', ...(options.serverAltNames ?? [])].join(',');
  const [ca, rogue] = await Promise.all([makeCa(dir, 'test-ca'), makeCa(dir, 'rogue-ca')]);
  const [server, client, rogueClient] = await Promise.all([
    makeSigned(dir, 'master', ca, `subjectAltName=${altNames}\nextendedKeyUsage=serverAuth\n`),
    makeSigned(dir, 'worker', ca, 'extendedKeyUsage=clientAuth\n'),
    makeSigned(dir, 'rogue-worker', rogue, 'extendedKeyUsage=clientAuth\n'),
  ]);
  return {
    ca: ca.cert,
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: client.cert,
    clientKey: client.key,
    rogueCa: rogue.cert,
    rogueClientCert: rogueClient.cert,
    rogueClientKey: rogueClient.key,
  };
}
