// Opening a benchmark page: CPU readings exposed to it, and its crashes, errors and warnings shown on the console.

/** A new page of the context, wired to the CPU sampler and the console, at `url`. */
export async function openBenchPage(context, sampler, url) {
  const page = await context.newPage();
  await page.exposeFunction('benchCpu', () => sampler.cpu());
  page.on('crash', () => console.error('[page crashed] (out of memory?)'));
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') console.error(`[page ${message.type()}] ${message.text()}`);
  });
  await page.goto(url);
  return page;
}
