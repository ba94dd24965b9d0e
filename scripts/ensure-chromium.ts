// Run before `npm test`: the dashboard is tested in a real browser, Debian's chromium.
// Installs it with apt-get when missing and allowed (root on Debian); otherwise says how.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.PHASEGATE_CHROMIUM ?? '/usr/bin/chromium';

if (!existsSync(CHROMIUM)) {
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
