#!/usr/bin/env bash
# Screenshots of a rendered report and of the funnel plot, with headless Chromium
# (Debian: apt-get install -y chromium). Not part of `make test` or CI.
#
#   make demo                 # renders demo-output/reports/
#   docs/screenshots.sh       # writes docs/report-odense.png and docs/funnel-plot.png
#
# The funnel plot is cut out of the national overview: its figure (the first image of
# national.html) is put alone on a page, which Chromium then photographs.
set -euo pipefail
reports=${1:-demo-output/reports}
here=$(cd "$(dirname "$0")" && pwd)
shoot() {  # shoot HTML PNG WIDTH,HEIGHT
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
    --window-size="$3" --screenshot="$2" "file://$(realpath "$1")" 2>/dev/null
}
shoot "$reports/461.html" "$here/report-odense.png" 1100,1600
page=$(mktemp --suffix=.html)
trap 'rm -f "$page"' EXIT
python3 - "$reports/national.html" "$page" <<'PY'
import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
image = re.search(r'src="(data:image/png;base64,[^"]+)"', html).group(1)
open(sys.argv[2], "w", encoding="utf-8").write(
    f'<html><body style="margin:0"><img src="{image}"></body></html>')
PY
shoot "$page" "$here/funnel-plot.png" 750,480
echo "wrote $here/report-odense.png and $here/funnel-plot.png"
