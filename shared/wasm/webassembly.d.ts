/**
 * The part of the WebAssembly JavaScript API that tessera uses (the kernels of shared/wasm, aligned buffers). Node has it as a global, but
 * TypeScript declares it only in the DOM libraries, which this project leaves out (lib: ES2023).
 */
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number });
    readonly buffer: ArrayBuffer;
    grow(pages: number): number;
  }
  class Global {
    value: number;
  }
}
