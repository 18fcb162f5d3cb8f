/**
 * What the koffi bindings (libdeflate.ts, isal.ts) share: loading koffi and a library with an error
 * that names the package to install, the shape of a bound function, and its call on libuv's thread
 * pool as a promise.
 */
import { describeError, type TesseraError } from '../errors.js';

export type Koffi = (typeof import('koffi'))['default'];
export type NativeLibrary = ReturnType<Koffi['load']>;

type Callback<T> = (error: unknown, result: T) => void;

/** A C function bound by koffi: called here, or (`async`) on a thread of libuv's pool. */
export interface NativeFunction<A extends unknown[], R> {
  (...args: A): R;
  async(...args: [...A, Callback<R>]): void;
}

/** `fn(...args)` on the thread pool. Arrays passed in may not change until it settles. */
export function callOnPool<A extends unknown[], R>(fn: NativeFunction<A, R>, ...args: A): Promise<R> {
  return new Promise<R>((resolve, reject) => fn.async(...args, (error: unknown, value: R) => (error ? reject(error) : resolve(value))));
}

/**
 * koffi and the shared library `file`; `unavailable(message)` (the binding's own error class) when
 * either cannot be loaded, saying which and, for the library, the Debian package that has it.
 */
export async function loadNativeLibrary(file: string, debianPackage: string, unavailable: (message: string, cause: unknown) => TesseraError): Promise<{ readonly koffi: Koffi; readonly lib: NativeLibrary }> {
  let koffi: Koffi;
  try {
    koffi = (await import('koffi')).default;
  } catch (error) {
    throw unavailable(`koffi cannot be loaded: ${describeError(error)}`, error);
  }
  try {
    return { koffi, lib: koffi.load(file) };
  } catch (error) {
    throw unavailable(`${file} cannot be loaded (Debian: apt-get install ${debianPackage}): ${describeError(error)}`, error);
  }
}
