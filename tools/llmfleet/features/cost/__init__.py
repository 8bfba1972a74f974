"""Cost of the fleet and its chart."""
