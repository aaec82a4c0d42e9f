#!/bin/sh
# Re-make the README's dashboard pictures (offscreen, from the repository's root):  sh docs/screenshots/make.sh
set -e
export QT_QPA_PLATFORM=offscreen
# The project's own environment (the README's set-up), else a breathsync on PATH.
if [ -x .venv/bin/breathsync ]; then PATH="$PWD/.venv/bin:$PATH"; fi
out=docs/screenshots
breathsync run -p A=sim:steady,rate=12,seed=3 -p B=sim:follow,rate=12,coupling=1.5,delay=0.3,seed=4 \
    --duration 120 --speed 20 --screenshot "$out/in_sync.png"
breathsync run -p A=sim:lead,rate=12,after=50,ramp=60,to=8,seed=5 -p B=sim:follow,rate=12,coupling=1.5,delay=0.3,seed=6 \
    --phase lead --goal 20 --duration 125 --speed 20 --screenshot "$out/lead.png"
breathsync run -p A=sim:steady,rate=12,seed=5 -p B=sim:follow,rate=12,coupling=1.5,delay=0.3,seed=6,duration=90 \
    --duration 110 --speed 20 --screenshot "$out/no_signal.png"
breathsync demo --duration 100 --speed 20 --screenshot "$out/demo.png"
