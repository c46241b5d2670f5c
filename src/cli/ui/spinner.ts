/**
 * Runs fn with an ora spinner on stderr when it is a terminal (and not --json); plain otherwise.
 * fn gets a function to update the spinner's text (e.g. bytes written).
 */
export async function withSpinner<T>(label: string, enabled: boolean, fn: (update: (text: string) => void) => Promise<T>): Promise<T> {
  if (!enabled || !process.stderr.isTTY) return fn(() => undefined);
  const { default: ora } = await import('ora');
  const spinner = ora({ text: label, stream: process.stderr }).start();
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
