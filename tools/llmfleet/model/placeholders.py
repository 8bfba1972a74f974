"""Values that mark something still to fill in: hosts and owners reserved for examples
(RFC 2606 example.com/.org/.net, "example-org" and the like) and words such as REPLACE_ME.
Read by the lint rules that refuse to deploy them (image-placeholder,
argocd-repo-placeholder)."""

from __future__ import annotations

import re

PLACEHOLDER = re.compile(
    r"(?i)(^|[./@:-])(example\.(com|org|net)|example[-_]?(org|user|owner|company|registry)|"
    r"your[-_]?(org|registry|repo|company|account|project|user|tag|version)|my[-_]?(registry|tag|version)|"
    r"replace[-_]?(me|this)|changeme|change[-_]me|placeholder|todo|xxx+|<[^>]*>)([./@:-]|$)"
)
