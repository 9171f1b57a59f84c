/**
 * Help and usage errors, the same on every command: `help <command...>` shows that command's help (commander's
 * own takes one name), options that must be given say "(required)", and commander's errors carry the prefix
 * ours do (`datamover: error: ...`).
 */
import { type Command, Help, type Option } from 'commander';
import { usageError } from '../engine/index.js';

/** The prefix of every error line on stderr. */
export const ERROR_PREFIX = 'datamover: error: ';

/** Settings the subcommands inherit: call before any command is added. */
export function configureHelp(program: Command): Command {
  const base = new Help();
  return program
    .configureHelp({
      optionDescription: (option: Option) => {
        const text = base.optionDescription(option);
        return option.mandatory ? `${text} (required)` : text;
      },
    })
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      outputError: (s, write) => write(`${ERROR_PREFIX}${s.replace(/^error: /, '')}`),
    })
    .helpCommand(false);
}

/** `help [command...]`: the help of the named command, as `<command...> --help` shows it. USAGE on a name that is none. */
export function registerHelp(program: Command): void {
  program.command('help [command...]').description('show the help of a command, e.g. `help bundle upload`')
    .action((names: string[]) => {
      let target = program;
      for (const name of names) {
        const next = target.commands.find((c) => c.name() === name || c.aliases().includes(name));
        if (!next) throw usageError(`help: no command ${[...names.slice(0, names.indexOf(name)), name].join(' ')} (see \`datamover help\`)`);
        target = next;
      }
      target.outputHelp();
    });
}
