#!/bin/bash
# In-cluster load test of one model: `vllm bench serve` (vLLM 0.33.0) against the model's
# Service in three phases -- a linear ramp, a plateau, a quiet tail -- with random prompts of
# INPUT_LEN/OUTPUT_LEN tokens (no dataset download). Each phase prints vLLM's result table to
# the log, then its `--save-result` JSON on one line "load-test: result <phase> {...}" (what
# `llmfleet calibrate OVERLAY FILE` reads; docs/reference/calibration.md); a failed phase
# stops the run with "load-test: FAILED in phase <phase>".
#
# Environment (set by components/load-test/job.yaml from the overlay):
#   SERVICE_NAME, SERVICE_NAMESPACE, SERVICE_PORT   the model's Service
#   SERVED_MODEL_NAME                              the name requests carry
#   OPENAI_API_KEY                                 the model's API key (read by vllm bench)
#   RAMP_START_RPS, PEAK_RPS                       whole requests per second (vllm bench's ramp-up
#                                                  rates are integers, start >= 1)
#   RAMP_SECONDS, PLATEAU_SECONDS                  phase lengths
#   TAIL_RPS, TAIL_SECONDS                         the quiet tail (0 seconds: none)
#   INPUT_LEN, OUTPUT_LEN, RANGE_RATIO             random prompt and output lengths
#   BURSTINESS                                     1 = Poisson arrivals; < 1 burstier
#   MAX_CONCURRENCY                                optional client-side cap (empty: none)
#   SERVE_CONFIG                                   the overlay's serve.yaml (default /etc/vllm/serve.yaml)
set -euo pipefail

log() { echo "load-test: $*"; }
fail() { log "FAILED: $*"; exit 1; }

for name in SERVICE_NAME SERVICE_NAMESPACE SERVICE_PORT SERVED_MODEL_NAME RAMP_START_RPS PEAK_RPS \
            RAMP_SECONDS PLATEAU_SECONDS TAIL_RPS TAIL_SECONDS INPUT_LEN OUTPUT_LEN; do
  [ -n "${!name:-}" ] || fail "configuration: $name is empty"
done
for name in RAMP_START_RPS PEAK_RPS RAMP_SECONDS PLATEAU_SECONDS TAIL_SECONDS INPUT_LEN OUTPUT_LEN; do
  [[ "${!name}" =~ ^[0-9]+$ ]] || fail "configuration: $name=${!name} is not a whole number"
done
[ "$RAMP_START_RPS" -ge 1 ] || fail "configuration: RAMP_START_RPS must be >= 1 (vllm bench needs a positive rate)"
[ "$PEAK_RPS" -ge "$RAMP_START_RPS" ] || fail "configuration: PEAK_RPS must be >= RAMP_START_RPS"

# The tokenizer for the random prompts: serve.yaml's tokenizer, else its model (mounted from
# the overlay's vllm-serve-config ConfigMap, the file vLLM itself reads).
serve_config=${SERVE_CONFIG:-/etc/vllm/serve.yaml}
tokenizer=$(python3 -c '
import sys, yaml
config = yaml.safe_load(open(sys.argv[1])) or {}
print(config.get("tokenizer") or config["model"])
' "$serve_config") || fail "configuration: cannot read model from $serve_config"

base_url="http://${SERVICE_NAME}.${SERVICE_NAMESPACE}.svc:${SERVICE_PORT}"
log "model ${SERVED_MODEL_NAME} (tokenizer ${tokenizer}) at ${base_url}"

# Requests in a phase: a linear ramp from s to e rps over T seconds sends T(e-s)/ln(e/s)
# requests (vllm bench raises the rate with the request index); a constant rate r, r x T.
prompts() {
  python3 -c 'import math, sys
s, e, t = map(float, sys.argv[1:])
n = t * s if e == s else t * (e - s) / math.log(e / s)
print(max(1, math.ceil(n)))' "$@"
}

common=(vllm bench serve --backend openai-chat --endpoint /v1/chat/completions
        --base-url "$base_url" --model "$tokenizer" --served-model-name "$SERVED_MODEL_NAME"
        --dataset-name random --random-input-len "$INPUT_LEN" --random-output-len "$OUTPUT_LEN"
        --random-range-ratio "${RANGE_RATIO:-0.0}" --ignore-eos --disable-tqdm
        --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,90,99)
if [ -n "${MAX_CONCURRENCY:-}" ]; then
  common+=(--max-concurrency "$MAX_CONCURRENCY")
fi
# The client runs in the model's own image: its vLLM is the server's.
vllm_version=$(python3 -c 'import importlib.metadata as m; print(m.version("vllm"))' 2>/dev/null || echo unknown)
results=${RESULT_DIR:-/tmp/load-test-results}
mkdir -p "$results"
common+=(--save-result --result-dir "$results" --metadata "vllm_version=${vllm_version}" "served_model_name=${SERVED_MODEL_NAME}")

run_phase() {
  local phase=$1; shift
  log "phase ${phase}: $*"
  "${common[@]}" --result-filename "${phase}.json" "$@" || fail "in phase ${phase} (vllm bench serve exit $?)"
  if [ -s "${results}/${phase}.json" ]; then
    log "result ${phase} $(tr -d '\n' < "${results}/${phase}.json")"
  fi
  log "phase ${phase}: done"
}

started=$(date +%s)
# The ramp also waits (up to 10 min) for the server to answer a first request.
run_phase ramp --seed 1 --ready-check-timeout-sec 600 --ramp-up-strategy linear \
  --ramp-up-start-rps "$RAMP_START_RPS" --ramp-up-end-rps "$PEAK_RPS" \
  --num-prompts "$(prompts "$RAMP_START_RPS" "$PEAK_RPS" "$RAMP_SECONDS")"
run_phase plateau --seed 2 --request-rate "$PEAK_RPS" --burstiness "${BURSTINESS:-1.0}" \
  --num-prompts "$(prompts "$PEAK_RPS" "$PEAK_RPS" "$PLATEAU_SECONDS")"
if [ "$TAIL_SECONDS" -gt 0 ] && python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > 0 else 1)' "$TAIL_RPS"; then
  run_phase tail --seed 3 --request-rate "$TAIL_RPS" --burstiness "${BURSTINESS:-1.0}" \
    --num-prompts "$(prompts "$TAIL_RPS" "$TAIL_RPS" "$TAIL_SECONDS")"
fi
log "PASSED in $(( $(date +%s) - started )) s"
