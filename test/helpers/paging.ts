import type { Page } from '../../src/db/types.js';

/** Every item of a list, page after page through its cursors; fails on a repeated page or one that never ends. */
export async function allPages<T>(fetch: (after?: string) => Promise<Page<T>>, max = 5000): Promise<T[]> {
  const items: T[] = [];
  let after: string | undefined;
  do {
    const page = await fetch(after);
    items.push(...page.items);
    if (page.next !== null && page.next === after) throw new Error('pagination repeats a page');
    after = page.next ?? undefined;
    if (items.length > max) throw new Error('pagination does not end');
  } while (after);
  return items;
}
