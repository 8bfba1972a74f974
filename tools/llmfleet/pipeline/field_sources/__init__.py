"""Trace a field of a rendered object back to the repository file and line it came from.

For one overlay the kustomization graph (:mod:`llmfleet.pipeline.graph`) is walked in the order
kustomize applies it: a kustomization's resources (files, and other kustomizations
recursively), its generators, its components, then its own patches and transformers
(``images``, ``namespace``, ``namePrefix``).  That gives an ordered list of *layers*, each a
source document with a pointer → line map (from :func:`llmfleet.pipeline.manifests.iter_documents`):

* resource documents (``base/deployment.yaml``), matched on kind, API group and name with
  the accumulated ``namePrefix``/``nameSuffix`` (and a generator hash suffix);
* strategic-merge patches (component and overlay patches, files or inline), matched on the
  patch's own kind and name, or on ``target`` (kind, name regex, label selector);
* JSON 6902 operations, matched on ``target``; an operation defines its ``path`` and what
  its ``value`` holds (``test`` and ``remove`` define nothing: the components' patches on a
  LeaderWorkerSet test ``containers/0/name`` before they touch container 0);
* ConfigMaps and Secrets from ``configMapGenerator``/``secretGenerator``: ``/data/<key>``
  maps to the file (line 1) and, deeper (``/data/serve.yaml/max-model-len``), to the line
  of that key inside the file; literals and ``options`` map to the kustomization.

A JSON pointer is then located in the layer that defines the deepest part of it (list items
matched on merge keys such as ``name``, so container 0 of a patch is the same container
wherever it ends up); on a tie the later layer (an overlay patch over the base) wins.
Parsing is cached per file and per overlay, and a tracer is only built for an overlay
once a finding asks for a location, so checking stays as fast as rendering.
"""
