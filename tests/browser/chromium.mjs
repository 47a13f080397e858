// Debian's Chromium, headless, as every browser test starts it (CHROMIUM=/usr/bin/chromium).
import { chromium } from 'playwright-core';

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync',
      // The vendors' and providers' made-up hosts (reserved names) fail at once, not after
      // the machine's resolver gives up; stub pages are answered by routes before any lookup.
      '--host-resolver-rules=MAP *.test ~NOTFOUND, MAP *.example ~NOTFOUND, MAP *.example.com ~NOTFOUND'],
  });
}
