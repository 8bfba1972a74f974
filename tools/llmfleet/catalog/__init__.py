"""The LLM catalog: models, GPU classes, node shapes, dtypes and the sizing arithmetic."""
