import type { DeployStep } from './gcloud.ts';

/** POSIX shell quoting, for a plan a person can read and paste. */
export function shellQuote(arg: string): string {
  if (/^[\w@%+=:,./-]+$/.test(arg)) return arg;
  // The project number is filled in by the script's first line.
  if (/^[\w@%+=:,./${}-]+$/.test(arg) && arg.includes('${PROJECT_NUMBER}')) return `"${arg}"`;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Marks where a step's update command starts, in the script's `run_step` lines. */
export const UPDATE_MARK = '::update::';

const RUN_STEP = [
  '# Any failure stops the script and says where: fix the cause and run it again.',
  'step=""',
  `trap 'echo "deploy stopped: \${step:-$BASH_COMMAND}" >&2; echo "fix the cause and run this script again: what ` +
    `exists is kept or updated" >&2' ERR`,
  '# run_step CREATE... [::update:: UPDATE...]: runs CREATE; when it fails because the resource',
  '# already exists, runs UPDATE, or keeps the resource as it is when there is none.',
  'run_step() {',
  '  local create=() update=() in_update=0 arg err',
  '  for arg in "$@"; do',
  `    if [[ $in_update == 0 && $arg == '${UPDATE_MARK}' ]]; then in_update=1`,
  '    elif [[ $in_update == 1 ]]; then update+=("$arg")',
  '    else create+=("$arg"); fi',
  '  done',
  '  step="${create[*]}"',
  '  err="$(mktemp)"',
  '  if "${create[@]}" 2>"$err"; then cat "$err" >&2; rm -f "$err"; step=""; return 0; fi',
  '  cat "$err" >&2',
  '  if ! grep -qiE "already exists|ALREADY_EXISTS" "$err"; then rm -f "$err"; return 1; fi',
  '  rm -f "$err"',
  '  if [[ ${#update[@]} -eq 0 ]]; then echo "  (exists: kept as is)" >&2; step=""; return 0; fi',
  '  echo "  (exists: updating)" >&2',
  '  step="${update[*]}"',
  '  "${update[@]}" || return 1',
  '  step=""',
  '}',
];

/**
 * The plan as a script a person can read, run and run again: one command per step; a create
 * whose resource exists is kept or updated (`run_step`); every other step is idempotent.
 */
export function renderShell(steps: readonly DeployStep[], preamble: readonly string[] = []): string {
  const lines = [
    '#!/usr/bin/env bash',
    '# phasegate deploy plan: run from the repository root, after `npm run build`. Safe to run again:',
    '# what exists is kept or updated, every binding is added only once.',
    'set -euo pipefail',
    ...RUN_STEP,
    ...preamble,
  ];
  let section = '';
  for (const step of steps) {
    if (step.section !== section) {
      section = step.section;
      lines.push('', `# --- ${section}`);
    }
    const command = step.argv.map(shellQuote).join(' ');
    if (!step.ifExists) lines.push(command);
    else if (step.ifExists === 'skip') lines.push(`run_step ${command}`);
    else
      lines.push(
        `run_step ${command} \\`,
        `  ${UPDATE_MARK} ${step.ifExists.update.map(shellQuote).join(' ')}`,
      );
  }
  return `${lines.join('\n')}\n`;
}
