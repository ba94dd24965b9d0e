// Run before `npm test`: the dashboard is tested in a real browser, Debian's chromium.
// Installs it with apt-get when missing and allowed (root on Debian); otherwise says how.
import { ensureChromium } from './lib/chromium.ts';

ensureChromium();
