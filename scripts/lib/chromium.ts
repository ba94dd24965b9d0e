// Debian's Chromium, which the dashboard's browser test and `npm run screenshots` drive with
// Playwright (playwright-core: no browser download, which this network refuses).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.PHASEGATE_CHROMIUM ?? '/usr/bin/chromium';

/** As root on a closed network: no sandbox, and no background networking (its connections are refused). */
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Installs Debian's chromium with apt-get when it is missing and that is allowed (root on Debian); otherwise says how, and exits 1. */
export function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  const canInstall = process.getuid?.() === 0 && spawnSync('apt-get', ['--version']).status === 0;
  if (!canInstall) {
    process.stderr.write(
      `The dashboard tests need Chromium at ${CHROMIUM}. Install it: sudo apt-get install chromium ` +
        '(or set PHASEGATE_CHROMIUM=/path/to/chromium).\n',
    );
    process.exit(1);
  }
  process.stdout.write('installing Debian chromium for the dashboard browser tests...\n');
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}
