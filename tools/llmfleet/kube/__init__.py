"""How Kubernetes reads what we give it: YAML as kubectl decodes it, quantities, JSON pointers."""
