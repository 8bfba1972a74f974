"""``new-model``: plan a model's overlay, write it from templates, check it."""
