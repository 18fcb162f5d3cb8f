/**
 * Checks a command line against the `tessera` command tree (cli/program.ts) without running it:
 * the subcommands exist, every --option is one that command declares and gets the value it needs.
 */
import type { Command } from 'commander';
import { buildProgram } from '../../cli/program.js';

/** Problems with `argv` (starting with "tessera"); empty when the command line is one tessera accepts. */
export function cliCallProblems(argv: readonly string[]): string[] {
  if (argv[0] !== 'tessera') return [`${argv.join(' ')}: does not run tessera`];
  let command: Command = buildProgram();
  let i = 1;
  for (; i < argv.length && !argv[i]?.startsWith('-'); i += 1) {
    const sub = command.commands.find((c) => c.name() === argv[i]);
    if (!sub) return [`tessera has no command "${argv.slice(1, i + 1).join(' ')}"`];
    command = sub;
  }
  if (command.commands.length > 0) return [`"${argv.slice(0, i).join(' ')}" needs a subcommand (${command.commands.map((c) => c.name()).join(', ')})`];
  const problems: string[] = [];
  while (i < argv.length) {
    const word = argv[i] as string;
    const [flag, inline] = word.includes('=') ? [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)] : [word, undefined];
    const option = command.options.find((o) => o.long === flag || o.short === flag);
    if (!option) {
      problems.push(`tessera ${command.name()} has no option ${flag}`);
      i += 1;
      continue;
    }
    const takesValue = option.required || option.optional;
    const value = inline ?? (takesValue ? argv[i + 1] : undefined);
    if (option.required && (value === undefined || value.startsWith('--'))) problems.push(`${flag} needs a value`);
    i += takesValue && inline === undefined ? 2 : 1;
  }
  return problems;
}
