#!/usr/bin/env bash
# Screenshots of each screen of the demo under Xvfb (software Vulkan), for
# looking at what a player sees: menu, LAN browser, lobby, match, overlay.
# Usage: scripts/screenshots.sh path/to/nearplay-demo OUTDIR
# mDNS stays on loopback (--interface lo); bots on the other seats.
set -euo pipefail
BIN=${1:?path to nearplay-demo}
OUT=${2:-screenshots}
mkdir -p "$OUT"
DISPLAY_NUM=${SCREENSHOT_DISPLAY:-:97}
LOBBY="Ada's arena $$"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

Xvfb "$DISPLAY_NUM" -screen 0 1280x800x24 >/dev/null 2>&1 & pids+=($!)
export DISPLAY=$DISPLAY_NUM
for _ in $(seq 50); do xdotool getmouselocation >/dev/null 2>&1 && break; sleep 0.2; done
shot() { sleep "$2"; import -window root "$OUT/$1.png"; echo "screenshot: $OUT/$1.png"; }
click() { xdotool mousemove "$1" "$2" click 1; }

# A headless bot hosts a 3-player lobby on loopback.
"$BIN" host --headless --bot --name Ada --lobby "$LOBBY" --players 3 --interface lo >/dev/null 2>&1 & pids+=($!)
# The windowed game, its player played by the AI so the match moves.
"$BIN" --name Bea --bot --interface lo >/dev/null 2>&1 & pids+=($!)
xdotool search --sync --name "nearplay" >/dev/null
shot menu 8
click 640 368        # Find LAN games
shot browser 4
click 888 420   # Join on the first row
shot lobby 3
# A third player joins; everyone ready -> the host starts.
"$BIN" join --headless --bot --name Cy --lobby "$LOBBY" --interface lo >/dev/null 2>&1 & pids+=($!)
click 490 "${READY_Y:-560}"   # Ready
shot match 9
xdotool search --name nearplay windowfocus --sync 2>/dev/null || true
xdotool key F3
shot match_overlay 2

# The replay viewer, when given a replay (REPLAY_FILE=path, e.g. one written
# with --record): 1x, then 4x, paused after a seek (F3 pressed: a replay has
# no network overlay).
if [ -n "${REPLAY_FILE:-}" ]; then
  "$BIN" replay "$REPLAY_FILE" >/dev/null 2>&1 & pids+=($!)
  sleep 6
  viewer=$(xdotool search --name nearplay | tail -1)
  xdotool windowfocus --sync "$viewer" 2>/dev/null || true
  shot replay_1x 2
  xdotool key 4
  shot replay_4x 2
  xdotool key space Right F3   # F3: no network overlay over a replay
  shot replay_paused_seek 2
fi
