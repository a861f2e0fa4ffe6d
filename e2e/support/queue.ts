/*
 * The queue of waiting visitors, as both agent pages show it: a region named by its heading ("Queue" on
 * the demo agent page, "Waiting visitors N" in the workspace) holding one list item per visitor, with
 * the visitor's name, their first message and an Accept button. The pages differ only in that name.
 */
import type { Locator, Page } from 'playwright-core';

/** The queue region, found by its accessible name (the page's heading for it). */
export function queueRegion(page: Page, queueName: string | RegExp): Locator {
  return page.getByRole('region', { name: queueName, exact: true });
}

/** One visitor's entry in the queue named `queueName`: the list item showing `text` (their name or first message). */
export function queueEntryIn(page: Page, queueName: string | RegExp, text: string): Locator {
  return queueRegion(page, queueName).getByRole('listitem').filter({ hasText: text });
}
