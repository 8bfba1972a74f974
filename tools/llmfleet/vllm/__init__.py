"""What the lint rules know about vLLM 0.33.0.

* :mod:`.flags`: the option strings ``vllm serve`` accepts (generated from the 0.33.0 wheel by
  ``tools/scripts/extract_vllm_flags.py`` into ``flags_0_33_0.txt``) and the removed ones;
* :mod:`.settings`: a vLLM container's effective settings, read from its args, the
  ``--config`` YAML file of a mounted ConfigMap, and env, each with where it was set;
* :mod:`.metrics`: the metric catalog of vLLM 0.33.0 (docs/reference/vllm-0.33.md §1);
* :mod:`.promql`: parsing and walking PromQL with the ``promql-parser`` package;
* :mod:`.models`: model size from a model id (cold-load estimates).
"""

VLLM_VERSION = "0.33.0"
