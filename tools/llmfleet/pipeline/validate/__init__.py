"""Schema validation: in-process with jsonschema, or through kubeconform."""
