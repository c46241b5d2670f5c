import type { Command } from 'commander';
import { run } from '../run.js';
import { examples } from '../options.js';

export function registerStudio(program: Command): void {
  program
    .command('studio')
    .description('a read-only web view of the agents, tasks, contexts and stats, on 127.0.0.1 until Ctrl-C')
    .option('--port <n>', 'port to listen on (default: a free one)')
    .option('--host <address>', 'address to listen on (default 127.0.0.1; anything else is reachable from other machines)')
    .option('--open', "open the URL in the desktop's browser")
    .addHelpText(
      'after',
      `${examples('bindu-db studio', 'bindu-db studio --port 4983 --open', 'bindu-db --schema <agent DID> studio')}

Prints one URL holding a random token: every request without it is refused. The URL of any
page can be bookmarked or shared while this process runs. Ctrl-C stops it (exit 130).`,
    )
    .action(
      run<{ port?: string; host?: string; open?: boolean }>(async (ctx, opts) => {
        const { parseHost, parsePort, serveStudio } = await import('../../studio/serve.js');
        const port = parsePort(opts.port);
        parseHost(opts.host);
        if (opts.host !== undefined && !['127.0.0.1', '::1', 'localhost'].includes(opts.host)) ctx.out.warn(`listening on ${opts.host}: anyone who can reach it and has the URL sees every task`);
        const db = await ctx.db({ autoMigrate: true });
        const schema = opts.schema !== undefined || ctx.config.schema !== 'public' ? ctx.config.schema : undefined;
        await serveStudio(db, { host: opts.host, port, open: opts.open, schema }, ctx.signal, {
          onListening: (url) => {
            ctx.out.print(url);
            ctx.out.notice('serving a read-only view; press Ctrl-C to stop');
          },
          onError: (err) => ctx.out.warn(err instanceof Error ? err.message : String(err)),
        });
        ctx.out.notice('studio stopped');
      }),
    );
}
