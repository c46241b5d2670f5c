import { CancelledError, RefusedError } from '../../errors.js';
import { importEsm } from '../../lib/esm.js';

export interface ConfirmOptions {
  /** What will happen, as a phrase: "revert 2 migrations on postgresql://…". */
  action: string;
  /** What the user should know before answering. */
  warning?: string;
  /** --yes: skip the question. */
  yes: boolean;
  /** Whether a person can answer (stdin and stderr are terminals). */
  interactive: boolean;
  /** The flag that skips the question, for the refusal's hint. */
  command: string;
}

/**
 * Confirms a destructive action. --yes skips; with no terminal and no --yes it refuses (exit 2);
 * Ctrl-C or "no" at the prompt cancels (exit 130) and changes nothing.
 */
export async function confirmDestructive(options: ConfirmOptions): Promise<void> {
  if (options.yes) return;
  if (!options.interactive) {
    throw new RefusedError(`refusing to ${options.action} without confirmation`, `no terminal to ask on; re-run with --yes: ${options.command} --yes`);
  }
  const { confirm } = await importEsm<typeof import('@inquirer/prompts')>('@inquirer/prompts');
  let answer: boolean;
  try {
    const message = `${options.action[0].toUpperCase()}${options.action.slice(1)}?${options.warning ? ` ${options.warning}` : ''}`;
    answer = await confirm({ message, default: false }, { output: process.stderr });
  } catch (err) {
    if ((err as Error).name === 'ExitPromptError' || (err as Error).name === 'AbortPromptError') throw new CancelledError('cancelled: nothing was changed');
    throw err;
  }
  if (!answer) throw new CancelledError('cancelled: nothing was changed');
}
