/**
 * PEM files named by configuration variables, read and checked when a service starts, so a wrong
 * path, a key that does not match its certificate or a file that is not PEM stops it with a
 * ConfigError naming the variable — not a TLS handshake failure on the first connection.
 */
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { ConfigError } from './errors.js';

/** A file and the variable (or option) that named it. */
export interface PemSource {
  readonly variable: string;
  readonly path: string;
}

/** A certificate (chain) and its private key. */
export interface KeyPair {
  readonly cert: Buffer;
  readonly key: Buffer;
}

function reason(error: unknown): string {
  if (error instanceof Error) return (error as NodeJS.ErrnoException).code ?? error.message;
  return String(error);
}

export async function readPem(source: PemSource, what: string): Promise<Buffer> {
  try {
    const pem = await readFile(source.path);
    if (!pem.includes('-----BEGIN ')) throw new Error('not a PEM file (no -----BEGIN line)');
    return pem;
  } catch (error) {
    throw new ConfigError(source.variable, `cannot read ${what} ${source.path}: ${reason(error)}`, `Set ${source.variable} to the path of ${what} (PEM) that this process can read.`);
  }
}

/** A CA bundle to trust, checked to be certificates. */
export async function readCaBundle(source: PemSource): Promise<Buffer> {
  const ca = await readPem(source, 'a CA certificate');
  try {
    createSecureContext({ ca });
  } catch (error) {
    throw new ConfigError(source.variable, `${source.path} is not a usable CA certificate: ${reason(error)}`, `Set ${source.variable} to the CA certificate (PEM), e.g. ca.crt from the README's openssl commands.`);
  }
  return ca;
}

/** A certificate and its key, checked to belong together. */
export async function readKeyPair(cert: PemSource, key: PemSource): Promise<KeyPair> {
  const pair = { cert: await readPem(cert, 'a certificate'), key: await readPem(key, 'a private key') };
  try {
    createSecureContext(pair);
  } catch (error) {
    throw new ConfigError(
      key.variable,
      `${key.path} and ${cert.path} (${cert.variable}) are not a usable certificate and key: ${reason(error)}`,
      `Set ${cert.variable} and ${key.variable} to a certificate and its own private key (PEM).`,
    );
  }
  return pair;
}
