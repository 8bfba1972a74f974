"""What llmfleet knows about vLLM, and a vLLM server container read from its manifests.

* :mod:`.flags`: the option strings ``vllm serve`` accepts (generated from the real wheels by
  ``tools/scripts/extract_vllm_flags.py``) and the removed ones;
* :mod:`.server`: a container that runs the vLLM server and its effective settings (args,
  command, ``sh -c`` scripts, the ``--config`` file, env, ``$(VAR)`` expansion);
* :mod:`.expansion`: a container's environment and Kubernetes' ``$(VAR)`` expansion;
* :mod:`.images`: image references, the vLLM version and build they name;
* :mod:`.metrics`: the metric catalog (docs/reference/vllm-0.33.md §1);
* :mod:`.params`: model size from a model id (cold-load estimates, gpu-fit beyond the catalog).
"""

VLLM_VERSION = "0.33.0"
