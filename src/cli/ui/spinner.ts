import { importEsm } from '../../lib/esm.js';

/**
 * Runs fn with an ora spinner on stderr when it is a terminal (and not --json); plain otherwise.
 * fn gets a function to update the spinner's text (e.g. bytes written).
 */
export async function withSpinner<T>(label: string, enabled: boolean, fn: (update: (text: string) => void) => Promise<T>): Promise<T> {
  // A terminal of no width (a pty nobody sized, as `script` or `docker run -t` in CI give) would
  // make ora compute an infinite number of lines to clear, and spin forever: no spinner there.
  if (!enabled || !process.stderr.isTTY || !process.stderr.columns) return fn(() => undefined);
  const { default: ora } = await importEsm<typeof import('ora')>('ora');
  // Not ora's discardStdin: it puts the terminal in raw mode, so Ctrl-C sends no SIGINT, and its
  // own listener for the keystroke never sees it (stdin is never set flowing): the work could not
  // be interrupted while the spinner showed. The terminal stays as it is and Ctrl-C stays a signal.
  const spinner = ora({ text: label, stream: process.stderr, discardStdin: false }).start();
  try {
    const result = await fn((text) => {
      spinner.text = `${label} ${text}`;
    });
    spinner.stop();
    return result;
  } catch (err) {
    spinner.stop();
    throw err;
  }
}
