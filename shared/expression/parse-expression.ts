/**
 * A safe parser for band-math expressions a user types, e.g. `(nir - swir16) / (nir + swir16)` or
 * `2.5 * (nir - red) / (nir + 6 * red - 7.5 * blue + 1)`. The grammar is small and closed: numbers,
 * band names, + − × ÷, unary minus and parentheses. There is no way to name anything but a band —
 * no properties, calls or strings — and the text is never evaluated as JavaScript: it becomes a tree
 * that compile-expression.ts turns into array operations.
 *
 *   expression := term (('+' | '-') term)*
 *   term       := unary (('*' | '/') unary)*
 *   unary      := '-' unary | primary
 *   primary    := number | band | '(' expression ')'
 *
 * Every refusal is an InvalidRequestError that says what is wrong and where (1-based column).
 */
import { InvalidRequestError } from '../errors.js';

export type ExpressionNode =
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'band'; readonly name: string }
  | { readonly kind: 'negate'; readonly operand: ExpressionNode }
  | { readonly kind: 'binary'; readonly operator: '+' | '-' | '*' | '/'; readonly left: ExpressionNode; readonly right: ExpressionNode };

export interface ParseLimits {
  /** Longest expression text, in characters. */
  readonly maxLength: number;
  /** Most operators and operands in all (each costs one pass over a strip). */
  readonly maxNodes: number;
  /** Deepest nesting of parentheses and unary minus. */
  readonly maxDepth: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = { maxLength: 500, maxNodes: 64, maxDepth: 16 };

type Token =
  | { readonly kind: 'number'; readonly value: number; readonly at: number }
  | { readonly kind: 'name'; readonly name: string; readonly at: number }
  | { readonly kind: 'symbol'; readonly symbol: '+' | '-' | '*' | '/' | '(' | ')'; readonly at: number };

/** Parses `text`; `bands` are the names it may use. */
export function parseExpression(text: string, bands: readonly string[], limits: ParseLimits = DEFAULT_PARSE_LIMITS): ExpressionNode {
  if (typeof text !== 'string' || text.trim() === '') throw new InvalidRequestError('the expression is empty: write band math such as "(nir - red) / (nir + red)"');
  if (text.length > limits.maxLength) {
    throw new InvalidRequestError(`the expression is ${text.length} characters long, more than the ${limits.maxLength} allowed`);
  }
  const parser = new Parser(tokenize(text), text, bands, limits);
  return parser.parseAll();
}

/** The band names an expression reads, each once, in order of first use. */
export function bandsOf(node: ExpressionNode, into: string[] = []): string[] {
  switch (node.kind) {
    case 'band':
      if (!into.includes(node.name)) into.push(node.name);
      break;
    case 'negate':
      bandsOf(node.operand, into);
      break;
    case 'binary':
      bandsOf(node.left, into);
      bandsOf(node.right, into);
      break;
    case 'number':
      break;
  }
  return into;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s+|(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|([-+*/()])/y;
  let at = 0;
  while (at < text.length) {
    pattern.lastIndex = at;
    const match = pattern.exec(text);
    if (!match) throw new InvalidRequestError(`the expression has "${text[at]}" at column ${at + 1}, which is not a number, a band name, + - * / or a parenthesis`);
    const [whole, number, name, symbol] = match;
    if (number !== undefined) tokens.push({ kind: 'number', value: Number(number), at });
    else if (name !== undefined) tokens.push({ kind: 'name', name, at });
    else if (symbol !== undefined) tokens.push({ kind: 'symbol', symbol: symbol as '+' | '-' | '*' | '/' | '(' | ')', at });
    at += whole.length;
  }
  return tokens;
}

class Parser {
  #position = 0;
  #nodes = 0;
  #depth = 0;

  constructor(
    private readonly tokens: readonly Token[],
    private readonly text: string,
    private readonly bands: readonly string[],
    private readonly limits: ParseLimits,
  ) {}

  parseAll(): ExpressionNode {
    const node = this.#expression();
    const extra = this.tokens[this.#position];
    if (extra) throw this.#error(extra, extra.kind === 'symbol' && extra.symbol === ')' ? 'a ")" without its "("' : 'more after a complete expression (an operator missing?)');
    return node;
  }

  #expression(): ExpressionNode {
    let left = this.#term();
    for (let next = this.#peekSymbol(); next === '+' || next === '-'; next = this.#peekSymbol()) {
      this.#position++;
      left = this.#count({ kind: 'binary', operator: next, left, right: this.#term() });
    }
    return left;
  }

  #term(): ExpressionNode {
    let left = this.#unary();
    for (let next = this.#peekSymbol(); next === '*' || next === '/'; next = this.#peekSymbol()) {
      this.#position++;
      left = this.#count({ kind: 'binary', operator: next, left, right: this.#unary() });
    }
    return left;
  }

  #unary(): ExpressionNode {
    if (this.#peekSymbol() !== '-') return this.#primary();
    this.#position++;
    return this.#nested(() => this.#count({ kind: 'negate', operand: this.#unary() }));
  }

  #primary(): ExpressionNode {
    const token = this.tokens[this.#position];
    if (!token) throw new InvalidRequestError(`the expression "${this.text}" ends where a number, a band or "(" should follow`);
    this.#position++;
    if (token.kind === 'number') {
      if (!Number.isFinite(token.value)) throw this.#error(token, 'a number too large');
      return this.#count({ kind: 'number', value: token.value });
    }
    if (token.kind === 'name') {
      if (!this.bands.includes(token.name)) {
        throw this.#error(token, `"${token.name}", which is not a band (the bands: ${this.bands.join(', ')})`);
      }
      return this.#count({ kind: 'band', name: token.name });
    }
    if (token.symbol !== '(') throw this.#error(token, `"${token.symbol}" where a number, a band or "(" should be`);
    const inner = this.#nested(() => this.#expression());
    if (this.#peekSymbol() !== ')') {
      const next = this.tokens[this.#position];
      throw next ? this.#error(next, 'something where ")" should close the "(" before it') : new InvalidRequestError(`the expression "${this.text}" lacks a ")" at its end`);
    }
    this.#position++;
    return inner;
  }

  #nested<T>(parse: () => T): T {
    if (++this.#depth > this.limits.maxDepth) throw new InvalidRequestError(`the expression nests deeper than ${this.limits.maxDepth} levels`);
    try {
      return parse();
    } finally {
      this.#depth--;
    }
  }

  #count(node: ExpressionNode): ExpressionNode {
    if (++this.#nodes > this.limits.maxNodes) throw new InvalidRequestError(`the expression has more than ${this.limits.maxNodes} numbers, bands and operators`);
    return node;
  }

  #peekSymbol(): string | undefined {
    const token = this.tokens[this.#position];
    return token?.kind === 'symbol' ? token.symbol : undefined;
  }

  #error(token: Token, problem: string): InvalidRequestError {
    return new InvalidRequestError(`the expression has ${problem} at column ${token.at + 1}: ${this.text}`);
  }
}
