/**
 * Turns a parsed expression (parse-expression.ts) into a function over whole rows: each operator is
 * one tight loop over Float32Arrays (or an array and a constant), so a strip costs one pass per
 * operator instead of a tree walk per pixel. Constants are folded at compile time. Compiled once
 * per task; each operator's register grows to the longest row it is given and is reused.
 *
 * A pixel whose value is not finite (a division by zero, say) is no-data; `toCodes` maps values
 * onto the 8-bit codes 1…255 over a range and writes 0 there.
 */
import type { ExpressionNode } from './parse-expression.js';

/** A compiled subtree: a constant (folded), or a step that writes (or returns) a row of values. */
type Compiled = { readonly constant: number } | { readonly step: (length: number) => Float32Array };

export interface CompiledExpression {
  /** The bands it reads, in the order `evaluate` takes them. */
  readonly bands: readonly string[];
  /**
   * The expression over `length` pixels of each band (reflectance, as Float32Arrays in the order of
   * `bands`). The result is valid until the next call.
   */
  evaluate(inputs: readonly Float32Array[], length: number): Float32Array;
}

const OPERATORS = {
  '+': (a: number, b: number) => a + b,
  '-': (a: number, b: number) => a - b,
  '*': (a: number, b: number) => a * b,
  '/': (a: number, b: number) => a / b,
} as const;

export function compileExpression(node: ExpressionNode, bands: readonly string[]): CompiledExpression {
  const registers: Float32Array[] = [];
  let inputs: readonly Float32Array[] = [];
  const register = (index: number, length: number): Float32Array => {
    let array = registers[index];
    if (!array || array.length < length) {
      array = new Float32Array(length);
      registers[index] = array;
    }
    return array;
  };
  let registerCount = 0;

  const compile = (current: ExpressionNode): Compiled => {
    switch (current.kind) {
      case 'number':
        return { constant: current.value };
      case 'band': {
        const at = bands.indexOf(current.name);
        if (at < 0) throw new Error(`compileExpression: "${current.name}" is not among the bands given`);
        return { step: () => inputs[at] as Float32Array };
      }
      case 'negate': {
        const operand = compile(current.operand);
        if ('constant' in operand) return { constant: -operand.constant };
        const target = registerCount++;
        return {
          step: (length) => {
            const a = operand.step(length);
            const out = register(target, length);
            for (let i = 0; i < length; i++) out[i] = -(a[i] as number);
            return out;
          },
        };
      }
      case 'binary': {
        const left = compile(current.left);
        const right = compile(current.right);
        if ('constant' in left && 'constant' in right) return { constant: Math.fround(OPERATORS[current.operator](left.constant, right.constant)) };
        const target = registerCount++;
        return { step: binaryStep(current.operator, left, right, (length) => register(target, length)) };
      }
    }
  };

  const root = compile(node);
  return {
    bands,
    evaluate(given, length) {
      if (given.length !== bands.length) throw new Error(`compileExpression: ${given.length} inputs for ${bands.length} bands`);
      inputs = given;
      if ('step' in root) return root.step(length);
      const out = register(registerCount, length);
      out.fill(root.constant, 0, length);
      return out;
    },
  };
}

/** One operator over arrays (or an array and a constant), written out per case so V8 keeps each loop tight. */
function binaryStep(operator: '+' | '-' | '*' | '/', left: Compiled, right: Compiled, output: (length: number) => Float32Array): (length: number) => Float32Array {
  return (length) => {
    const out = output(length);
    if ('constant' in left) {
      const x = left.constant;
      const y = (right as { step: (length: number) => Float32Array }).step(length);
      if (operator === '+') for (let i = 0; i < length; i++) out[i] = x + (y[i] as number);
      else if (operator === '-') for (let i = 0; i < length; i++) out[i] = x - (y[i] as number);
      else if (operator === '*') for (let i = 0; i < length; i++) out[i] = x * (y[i] as number);
      else for (let i = 0; i < length; i++) out[i] = x / (y[i] as number);
      return out;
    }
    const a = left.step(length);
    if ('constant' in right) {
      const b = right.constant;
      if (operator === '+') for (let i = 0; i < length; i++) out[i] = (a[i] as number) + b;
      else if (operator === '-') for (let i = 0; i < length; i++) out[i] = (a[i] as number) - b;
      else if (operator === '*') for (let i = 0; i < length; i++) out[i] = (a[i] as number) * b;
      else for (let i = 0; i < length; i++) out[i] = (a[i] as number) / b;
      return out;
    }
    const b = right.step(length);
    if (operator === '+') for (let i = 0; i < length; i++) out[i] = (a[i] as number) + (b[i] as number);
    else if (operator === '-') for (let i = 0; i < length; i++) out[i] = (a[i] as number) - (b[i] as number);
    else if (operator === '*') for (let i = 0; i < length; i++) out[i] = (a[i] as number) * (b[i] as number);
    else for (let i = 0; i < length; i++) out[i] = (a[i] as number) / (b[i] as number);
    return out;
  };
}

/** A value range mapped onto the codes 1…255 (0 is no-data). */
export interface CodeRange {
  readonly min: number;
  readonly max: number;
}

/**
 * code = 1 + round((clamp(v, min, max) − min) / (max − min) · 254); 0 where `valid` is 0 or v is
 * not finite. For [−1, 1] that is 1 + round((v + 1) · 127), the mapping of NDVI and NDSI.
 */
export function toCodes(values: Float32Array, valid: Uint8Array, length: number, range: CodeRange, out: Uint8Array): void {
  const { min, max } = range;
  const scale = 254 / (max - min);
  for (let i = 0; i < length; i++) {
    const v = values[i] as number;
    if (valid[i] === 0 || !Number.isFinite(v)) {
      out[i] = 0;
      continue;
    }
    const clamped = v < min ? min : v > max ? max : v;
    out[i] = 1 + Math.round((clamped - min) * scale);
  }
}
