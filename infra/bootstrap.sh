#!/usr/bin/env bash
# Install what the project needs on this machine and skip, quickly, what is already there:
#   (a) node packages (npm install from the lock) when node_modules is missing or package-lock.json changed since the last install;
#   (b) the development servers' binaries (Temporal CLI, influxd 1.8) into .cache/bin, via infra/servers.ts;
#   (c) for npm test only (or `bootstrap.sh --browser`): a headless Chromium for the console's browser test
#       (Debian's package, with apt-get, when run as root); a failed install is a warning, not an error.
# Safe to run from any folder and as often as you like (npm start and npm test run it first).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf 'bootstrap: %s\n' "$*"; }

# --- (a) node packages -------------------------------------------------------------------------------
stamp=node_modules/.bootstrap-stamp
reason=''
adopted=''
if [ ! -d node_modules ]; then
  reason='node_modules is missing'
elif [ -f "$stamp" ] && ! [ package-lock.json -nt "$stamp" ]; then
  : # installed from this lock file
elif [ -f node_modules/.package-lock.json ] && ! [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # The lock file was changed by an `npm install` that updated node_modules at the same time (npm writes its
  # own record, node_modules/.package-lock.json, after every install): nothing to do but note it.
  touch "$stamp"
  adopted=' (installed by npm install)'
elif [ -f "$stamp" ]; then
  reason='package-lock.json changed since the last install'
else
  reason='no record of a completed install'
fi
if [ -n "$reason" ]; then
  # `npm install` with the committed lock, not `npm ci`: the registry served here lacks some of @swc/core's
  # optional per-platform packages, which the lock then omits and `npm ci` refuses as "out of sync".
  say "node packages: installing from package-lock.json ($reason)…"
  npm install --no-audit --no-fund
  touch "$stamp"
  say 'node packages: installed'
else
  say "node packages: up to date$adopted (skipped)"
fi

# --- (b) server binaries -----------------------------------------------------------------------------
# Fast path in bash (no Node start-up): the same lookup order as infra/servers.ts, which does the installing.
missing=()
check_binary() { # NAME OVERRIDE_VARIABLE
  local name=$1 var=$2 found
  local override="${!var:-}"
  if [ -n "$override" ]; then
    if [ -x "$override" ] && [ -f "$override" ]; then say "$name: using $var=$override (skipped)"; return; fi
    missing+=("$name") # servers.ts reports the bad override clearly
    return
  fi
  if [ -x ".cache/bin/$name" ]; then say "$name: present in .cache/bin (skipped)"; return; fi
  if found=$(command -v "$name" 2>/dev/null); then say "$name: present on PATH at $found (skipped)"; return; fi
  missing+=("$name")
}
check_binary temporal TEMPORAL_BIN
check_binary influxd INFLUXD_BIN

if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} (go install takes 4–8 minutes per binary on a cold cache)…"
  node_modules/.bin/tsx infra/servers.ts ensure "${missing[@]}"
fi

# --- (c) a headless Chromium for the console's browser test ------------------------------------------
# Only the test run needs it (npm sets npm_lifecycle_event to the script's name): npm start must not install
# system packages, nor stop because a control-room network has no Debian mirror.
if [ "${npm_lifecycle_event:-}" != test ] && [ "${1:-}" != --browser ]; then
  say 'chromium: needed by npm test only (skipped)'
  exit 0
fi
# The test looks for CHROMIUM_PATH, then these same paths; Debian packages it as chromium-headless-shell.
# BOOTSTRAP_CHROMIUM_CANDIDATES replaces the system paths (test/unit/compose.test.ts hides an installed browser with it).
read -r -a candidates <<<"${BOOTSTRAP_CHROMIUM_CANDIDATES-/usr/bin/chromium-headless-shell /usr/lib/chromium/chromium-headless-shell /usr/bin/chromium /usr/bin/chromium-browser}"
browser=''
for candidate in "${CHROMIUM_PATH:-}" "${candidates[@]}"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then browser=$candidate; break; fi
done
if [ -n "$browser" ]; then
  say "chromium: present at $browser (skipped)"
elif [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  say 'chromium: installing Debian package chromium-headless-shell (apt-get)…'
  # The CJK font: without it the console's Chinese screenshots show empty boxes.
  if DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium-headless-shell fonts-noto-cjk; then
    say 'chromium: installed'
  else
    say 'chromium: WARNING: apt-get could not install chromium-headless-shell (no Debian mirror?). The console browser test (test/integration/console-e2e.test.ts) will fail;'
    say '  everything else runs. Install it later, or set CHROMIUM_PATH to a Chromium binary.'
  fi
else
  say 'chromium: NOT FOUND. The console browser test (test/integration/console-e2e.test.ts) will fail.'
  say '  Install it as root: apt-get install chromium-headless-shell   (or set CHROMIUM_PATH to a Chromium binary)'
fi
