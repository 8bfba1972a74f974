"""What GPU capacity costs: instance prices per cloud (``data/instance_prices.yaml``), pods
bin-packed onto the node shapes that carry them (:mod:`llmfleet.catalog.pricing.binpack`), and the
hosted-API price a model of a given size is compared with (``data/api_prices.yaml``)."""
