"""The lint engine: rules registered by id, run over one input or the whole fleet."""
