"""The check pipeline: configuration, inputs, render (and its cache), the kustomization graph, validation, the lint engine and rules, the report and its reporters."""
