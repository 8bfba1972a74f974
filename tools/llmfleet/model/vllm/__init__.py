"""What llmfleet knows about vLLM, and a vLLM server container read from its manifests.

* :mod:`.flags`: the option strings ``vllm serve`` accepts (generated from the real wheels by
  ``tools/scripts/extract_vllm_flags.py``) and the removed ones;
* :mod:`.server`: a container that runs the vLLM server and its effective settings (args,
  command, ``sh -c`` scripts, the ``--config`` file, env, ``$(VAR)`` expansion);
* :mod:`.expansion`: a container's environment and Kubernetes' ``$(VAR)`` expansion;
* :mod:`.images`: image references, the vLLM version and build they name;
* :mod:`.metrics`: the metric catalog (docs/reference/vllm.md §1);
* :mod:`.params`: model size from a model id (cold-load estimates, gpu-fit beyond the catalog).
"""

#: The one home of the pinned vLLM release: the newest flag and metric tables
#: (``flags_<version>.txt``, ``metrics_<version>.txt``), what ``:latest`` or an unknown image tag
#: means, and the tag of base/deployment.yaml (tests/unit/test_one_home_per_fact.py checks it).
VLLM_VERSION = "0.33.0"
