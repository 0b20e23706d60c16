#!/bin/bash
# Times the README's vae commands one by one, as tests/test_readme_commands.py runs them (one
# epoch each), in a fresh folder. EXTRA is appended to both train commands, e.g.
#   EXTRA=--hparams=pixel_layers=0 bash tools/time_readme_vae.sh   # the plain decoder
set -u
data=$(cd "$(dirname "$0")/../../shared/data/pokemon" && pwd)
cd "$(mktemp -d)" || exit 1
timed() {
  local start=$(date +%s.%N)
  "$@" > /dev/null 2>&1
  local rc=$?
  printf '%6.1f s  rc=%d  %s\n' "$(echo "$(date +%s.%N) - $start" | bc)" "$rc" "${*:3:3}"
}
timed python -m genzoo.tools.train --model=vae --epochs=1 ${EXTRA:-}
timed python -m genzoo.tools.train --model=vae --dataset=pokemon --data_dir="$data" --model_dir=runs/pokemon_vae --epochs=1 ${EXTRA:-}
timed python -m genzoo.tools.sample --model_dir=runs/pokemon_vae --num=64 --seed=1 --out=grid.png
timed python -m genzoo.tools.sample --model_dir=runs/pokemon_vae --mode=reconstruct --out=recon.png
timed python -m genzoo.tools.evaluate --model_dir=runs/pokemon_vae --out=eval_vae
timed python -m genzoo.tools.export --model_dir=runs/pokemon_vae --export_base=serving/pokemon_vae
